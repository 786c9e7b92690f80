"""EVENTS.md §5: `GET /v1/jobs?idempotencyKey=k` finds the job a keyed submit created — a
client that lost the response finds its job without submitting again."""

from __future__ import annotations

from typing import Any

import httpx

from tests.assertions import assert_error
from tests.factories import Factory, Tenant

GENERATIONS = "/v1/posts/generations"


async def _by_key(
    client: httpx.AsyncClient, tenant: Tenant, key: str, **filters: str
) -> dict[str, Any]:
    response = await client.get(
        "/v1/jobs", headers=tenant.headers, params={"idempotencyKey": key, **filters}
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["pagination"] == {"next_cursor": None, "has_more": False}
    return page


async def test_a_keyed_submit_is_found_by_its_key(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "source": {"text": "Small teams ship faster."}}
    keyed = {**tenant.headers, "Idempotency-Key": "lost-response-1"}
    submitted = (await client.post(GENERATIONS, headers=keyed, json=body)).json()["data"]
    knowledge = (
        await client.post(
            "/v1/knowledge",
            headers={**tenant.headers, "Idempotency-Key": "lost-response-2"},
            json={"type": "text", "name": "Handbook", "text": "Deploy on Tuesdays."},
        )
    ).json()["data"]
    refused = await client.post(
        GENERATIONS,
        headers={**tenant.headers, "Idempotency-Key": "refused-1"},
        json={**body, "projectId": "proj_unknown"},
    )
    assert_error(refused, 404, "not_found")

    found = await _by_key(client, tenant, "lost-response-1")
    assert [job["id"] for job in found["data"]] == [submitted["id"]]
    assert found["data"][0] == submitted | {"updatedAt": found["data"][0]["updatedAt"]}
    assert [j["id"] for j in (await _by_key(client, tenant, "lost-response-2"))["data"]] == [
        knowledge["id"]
    ]
    # Other filters still apply; unknown, refused and other workspaces' keys find nothing.
    assert (await _by_key(client, tenant, "lost-response-1", status="FAILED"))["data"] == []
    assert (await _by_key(client, tenant, "lost-response-1", type="POST_GENERATION"))["data"]
    assert (await _by_key(client, tenant, "never-used"))["data"] == []
    assert (await _by_key(client, tenant, "refused-1"))["data"] == []
    assert (await _by_key(client, other, "lost-response-1"))["data"] == []
    # Its page is the only one: a cursor from another listing does not page through it.
    first = (await client.get("/v1/jobs?limit=1", headers=tenant.headers)).json()
    cursor = first["pagination"]["next_cursor"]
    paged = await client.get(
        "/v1/jobs",
        headers=tenant.headers,
        params={"idempotencyKey": "lost-response-1", "cursor": cursor},
    )
    assert_error(paged, 400, "bad_cursor")
    # An empty value is no filter, like every other empty parameter.
    listed = await client.get("/v1/jobs?idempotencyKey=", headers=tenant.headers)
    assert {job["id"] for job in listed.json()["data"]} == {submitted["id"], knowledge["id"]}
