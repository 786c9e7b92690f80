"""§7.4 `GET /v1/posts`: a project's posts (projectId required), filtered and paged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from scripe_api.core.clock import format_timestamp
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.posts.calls import create_post


def newest_first(posts: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(posts, key=lambda p: (p["createdAt"], p["id"]), reverse=True)
    return [post["id"] for post in ordered]


async def listed_ids(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, **params: Any
) -> list[str]:
    response = await client.get(
        "/v1/posts", headers=tenant.headers, params={"projectId": project_id, **params}
    )
    assert response.status_code == 200, response.text
    return [post["id"] for post in response.json()["data"]]


async def test_list_needs_a_project_and_filters(
    client: httpx.AsyncClient, factory: Factory, now: datetime
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other_project = await factory.project(tenant.workspace.id, name="Other")
    at = format_timestamp(now + timedelta(days=1))
    drafts = [await create_post(client, tenant, projectId=project.id) for _ in range(3)]
    scheduled = [
        await create_post(client, tenant, projectId=project.id, scheduledFor=at) for _ in range(2)
    ]
    await create_post(client, tenant, projectId=other_project.id)
    everything = newest_first(drafts + scheduled)

    missing = await client.get("/v1/posts", headers=tenant.headers)
    assert assert_error(missing, 400, "invalid_request")["details"] == {"field": "projectId"}
    assert await listed_ids(client, tenant, project.id) == everything
    assert await listed_ids(client, tenant, project.id, status="draft") == newest_first(drafts)
    assert await listed_ids(client, tenant, project.id, status="scheduled,draft") == everything
    assert await listed_ids(client, tenant, project.id, status="published") == []
    first_day, last_day = drafts[0]["createdAt"][:10], scheduled[-1]["createdAt"][:10]
    assert await listed_ids(client, tenant, project.id, dateFrom=first_day, dateTo=last_day) == (
        everything
    )
    since = scheduled[0]["createdAt"]
    assert await listed_ids(client, tenant, project.id, dateFrom=since) == newest_first(
        [post for post in drafts + scheduled if post["createdAt"] >= since]
    )
    assert await listed_ids(client, tenant, project.id, dateTo="2020-01-01") == []
    for params in ({"status": "DRAFT"}, {"dateFrom": "2026-05-15T08:00:00"}, {"dateTo": "soon"}):
        response = await client.get(
            "/v1/posts", headers=tenant.headers, params={"projectId": project.id, **params}
        )
        assert_error(response, 400, "invalid_request")


async def test_list_pages_are_bound_to_their_filters(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other_project = await factory.project(tenant.workspace.id, name="Other")
    posts = [await create_post(client, tenant, projectId=project.id) for _ in range(5)]
    pages = []
    params: dict[str, Any] = {"projectId": project.id, "limit": 2}
    while True:
        response = await client.get("/v1/posts", headers=tenant.headers, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not pages[-1]["pagination"]["has_more"]:
            break
        params["cursor"] = pages[-1]["pagination"]["next_cursor"]
    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    assert [post["id"] for page in pages for post in page["data"]] == newest_first(posts)
    cursor = pages[0]["pagination"]["next_cursor"]
    for other in ({"projectId": other_project.id}, {"projectId": project.id, "status": "draft"}):
        response = await client.get(
            "/v1/posts", headers=tenant.headers, params={**other, "cursor": cursor}
        )
        assert_error(response, 400, "bad_cursor")
