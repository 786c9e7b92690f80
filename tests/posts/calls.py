"""What a client does with posts, shared by the posts tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Tenant

POST_FIELDS = {
    "id",
    "status",
    "platform",
    "contentType",
    "title",
    "content",
    "createdAt",
    "projectId",
    "scheduledAt",
    "updatedAt",
}


async def create_post(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/posts", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    post: dict[str, Any] = response.json()["data"]
    return post


async def patch_post(
    client: httpx.AsyncClient, tenant: Tenant, post_id: str, **body: Any
) -> httpx.Response:
    return await client.patch(f"/v1/posts/{post_id}", headers=tenant.headers, json=body)


async def read_post(client: httpx.AsyncClient, tenant: Tenant, post_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/posts/{post_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    post: dict[str, Any] = response.json()["data"]
    return post
