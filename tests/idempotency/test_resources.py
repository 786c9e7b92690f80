"""§3 on the other POST and PATCH routes: the scope is the route template, the fingerprint the
concrete path and body; the operation's own 404, 409 and 422 are replayed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.idempotency.records import keyed, records
from tests.jobs.calls import submit_generation


async def create_post(client: httpx.AsyncClient, tenant: Tenant, project_id: str) -> str:
    response = await client.post(
        "/v1/posts", headers=tenant.headers, json={"projectId": project_id, "content": "Hi"}
    )
    assert response.status_code == 200, response.text
    post_id: str = response.json()["data"]["id"]
    return post_id


async def test_same_key_on_another_post_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first, second = [await create_post(client, tenant, project.id) for _ in range(2)]
    edit = {"content": "Edited"}
    edited = await client.patch(f"/v1/posts/{first}", headers=keyed(tenant, "e1"), json=edit)
    assert edited.status_code == 200, edited.text
    assert edited.headers["idempotent-replayed"] == "false"
    other = await client.patch(f"/v1/posts/{second}", headers=keyed(tenant, "e1"), json=edit)
    assert_error(other, 409, "idempotency_key_conflict")
    untouched = await client.get(f"/v1/posts/{second}", headers=tenant.headers)
    assert untouched.json()["data"]["content"] == "Hi"
    [record] = await records(sessionmaker, tenant.workspace.id)
    assert record.scope == "PATCH /v1/posts/{postId}"
    assert record.state == "completed"


async def test_same_key_on_another_route_is_independent(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "content": "Same body, two routes"}
    post = await client.post("/v1/posts", headers=keyed(tenant, "k"), json=body)
    note = await client.post("/v1/notes", headers=keyed(tenant, "k"), json=body)
    for response in (post, note):
        assert response.status_code == 200, response.text
        assert response.headers["idempotent-replayed"] == "false"
    assert post.json()["data"]["id"].startswith("post_")
    assert note.json()["data"]["id"].startswith("note_")
    scopes = {record.scope for record in await records(sessionmaker, tenant.workspace.id)}
    assert scopes == {"POST /v1/posts", "POST /v1/notes"}
    # Another workspace's use of the same key is its own too.
    stranger = await factory.tenant()
    stranger_project = await factory.project(stranger.workspace.id)
    theirs = await client.post(
        "/v1/notes", headers=keyed(stranger, "k"), json={**body, "projectId": stranger_project.id}
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.headers["idempotent-replayed"] == "false"


async def test_rule_breaking_request_replays_its_422(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    past = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    body = {"projectId": project.id, "content": "Late", "scheduledFor": past}
    refused = await client.post("/v1/posts", headers=keyed(tenant, "late"), json=body)
    assert_error(refused, 422, "unprocessable")
    assert refused.headers["idempotent-replayed"] == "false"
    replay = await client.post("/v1/posts", headers=keyed(tenant, "late"), json=body)
    assert replay.status_code == 422
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["content-type"] == "application/json"
    assert replay.content == refused.content


async def test_unknown_resource_replays_its_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    path = "/v1/posts/post_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"
    missing = await client.patch(path, headers=keyed(tenant, "m"), json={"content": "x"})
    assert_error(missing, 404, "not_found")
    replay = await client.patch(path, headers=keyed(tenant, "m"), json={"content": "x"})
    assert replay.status_code == 404
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == missing.content


async def test_cancel_replays_its_outcome(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    path = f"/v1/jobs/{job['id']}/cancel"
    cancelled = await client.post(path, headers=keyed(tenant, "c1"))
    assert cancelled.status_code == 200, cancelled.text
    again = await client.post(path, headers=keyed(tenant, "c2"))
    assert_error(again, 409, "not_cancellable")
    for key, first in (("c1", cancelled), ("c2", again)):
        replay = await client.post(path, headers=keyed(tenant, key))
        assert replay.status_code == first.status_code
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == first.content
