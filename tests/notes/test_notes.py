"""§7.5 notes: create, read, list a project's notes; `notes:write` does not imply `notes:read`;
nothing of another workspace's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import send_json

NOTE_FIELDS = {"id", "projectId", "folderId", "content", "createdAt", "updatedAt", "slot"}
NOTE_CONTENT_MAX_BYTES = 100 * 1024


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_note(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, content: str = "An idea."
) -> dict[str, Any]:
    response = await client.post(
        "/v1/notes", headers=tenant.headers, json={"projectId": project_id, "content": content}
    )
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()["data"]
    return note


async def test_create_then_read_a_note(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    note = await create_note(client, tenant, project.id, "Ship small, ship often. ✨")
    assert set(note) == NOTE_FIELDS
    assert note["id"].startswith("note_")
    assert note["projectId"] == project.id
    assert note["content"] == "Ship small, ship often. ✨"
    assert note["createdAt"].endswith("Z")
    assert note["folderId"] is None
    assert note["slot"] is None
    response = await client.get(f"/v1/notes/{note['id']}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": note}


async def test_create_refuses_bad_input(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"content": "x"}, 400, "invalid_request"),
        ({"projectId": project.id}, 400, "invalid_request"),
        ({"projectId": project.id, "content": ""}, 400, "invalid_request"),
        ({"projectId": project.id, "content": 3}, 400, "invalid_request"),
        ({"projectId": project.id, "content": "a\x00b"}, 400, "invalid_request"),
        ({"projectId": project.id, "content": "a\ud800b"}, 400, "invalid_request"),
        ({"projectId": project.id, "content": "x", "title": "t"}, 400, "invalid_request"),
        # Bytes of UTF-8: 51 201 × "é" is over 100 KB.
        ({"projectId": project.id, "content": "é" * 51_201}, 413, "payload_too_large"),
        ({"projectId": "proj_unknown", "content": "x"}, 404, "not_found"),
    ]
    for body, status, code in cases:
        response = await send_json(client, "POST", "/v1/notes", tenant.headers, body)
        assert_error(response, status, code)
    listed = await client.get("/v1/notes", headers=tenant.headers, params={"projectId": project.id})
    assert listed.json()["data"] == []
    await create_note(client, tenant, project.id, "a" * NOTE_CONTENT_MAX_BYTES)


async def test_list_needs_a_project_and_pages_newest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other_project = await factory.project(tenant.workspace.id, name="Other")
    notes = [await create_note(client, tenant, project.id, f"Note {n}") for n in range(5)]
    await create_note(client, tenant, other_project.id)
    missing = await client.get("/v1/notes", headers=tenant.headers)
    assert assert_error(missing, 400, "invalid_request")["details"] == {"field": "projectId"}

    pages = []
    params: dict[str, Any] = {"projectId": project.id, "limit": 2}
    while True:
        response = await client.get("/v1/notes", headers=tenant.headers, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not pages[-1]["pagination"]["has_more"]:
            break
        params["cursor"] = pages[-1]["pagination"]["next_cursor"]
    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    ordered = sorted(notes, key=lambda n: (n["createdAt"], n["id"]), reverse=True)
    assert [note for page in pages for note in page["data"]] == ordered
    response = await client.get(
        "/v1/notes",
        headers=tenant.headers,
        params={"projectId": other_project.id, "cursor": pages[0]["pagination"]["next_cursor"]},
    )
    assert_error(response, 400, "bad_cursor")


async def test_write_scope_does_not_imply_read(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    note = await create_note(client, tenant, project.id)
    writer = bearer((await factory.key(tenant.workspace.id, ("notes:write",))).secret)
    reader = bearer((await factory.key(tenant.workspace.id, ("notes:read",))).secret)

    created = await client.post(
        "/v1/notes", headers=writer, json={"projectId": project.id, "content": "by the writer"}
    )
    assert created.status_code == 200, created.text
    for response in (
        await client.get(f"/v1/notes/{note['id']}", headers=writer),
        await client.get("/v1/notes", headers=writer, params={"projectId": project.id}),
    ):
        error = assert_error(response, 403, "scope_missing")
        assert error["details"] == {"required": ["notes:read"]}

    assert (await client.get(f"/v1/notes/{note['id']}", headers=reader)).status_code == 200
    listed = await client.get("/v1/notes", headers=reader, params={"projectId": project.id})
    assert len(listed.json()["data"]) == 2
    refused = await client.post(
        "/v1/notes", headers=reader, json={"projectId": project.id, "content": "x"}
    )
    assert assert_error(refused, 403, "scope_missing")["details"] == {"required": ["notes:write"]}


async def test_another_workspaces_notes_and_projects_are_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.tenant()
    stranger = await factory.tenant()
    project = await factory.project(owner.workspace.id)
    note = await create_note(client, owner, project.id)
    headers = stranger.headers
    for response in (
        await client.get(f"/v1/notes/{note['id']}", headers=headers),
        await client.get("/v1/notes", headers=headers, params={"projectId": project.id}),
        await client.post(
            "/v1/notes", headers=headers, json={"projectId": project.id, "content": "x"}
        ),
        # A malformed id is simply unknown.
        await client.get("/v1/notes/note_%00", headers=owner.headers),
    ):
        assert_error(response, 404, "not_found")
    listed = await client.get("/v1/notes", headers=owner.headers, params={"projectId": project.id})
    assert listed.json()["data"] == [note]
