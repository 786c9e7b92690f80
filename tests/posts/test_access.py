"""§2 scopes on the posts endpoints, and nothing of another workspace's (§1.5 not_found)."""

from __future__ import annotations

import httpx

from tests.assertions import assert_error
from tests.factories import Factory
from tests.posts.calls import create_post, read_post


async def test_read_scope_reads_but_does_not_write(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    post = await create_post(client, tenant, projectId=project.id)
    reader = await factory.key(tenant.workspace.id, ("posts:read",))
    headers = {"Authorization": f"Bearer {reader.secret}"}
    assert (await client.get(f"/v1/posts/{post['id']}", headers=headers)).status_code == 200
    listed = await client.get("/v1/posts", headers=headers, params={"projectId": project.id})
    assert listed.status_code == 200
    for response in (
        await client.post("/v1/posts", headers=headers, json={"projectId": project.id}),
        await client.patch(f"/v1/posts/{post['id']}", headers=headers, json={"title": "x"}),
    ):
        error = assert_error(response, 403, "scope_missing")
        assert error["details"] == {"required": ["posts:write"]}
    nothing = await factory.key(tenant.workspace.id, ("notes:read", "jobs:read"))
    response = await client.get(
        f"/v1/posts/{post['id']}", headers={"Authorization": f"Bearer {nothing.secret}"}
    )
    assert assert_error(response, 403, "scope_missing")["details"] == {
        "required": ["posts:read", "posts:write"]
    }


async def test_another_workspaces_posts_and_projects_are_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.tenant()
    stranger = await factory.tenant()
    project = await factory.project(owner.workspace.id)
    post = await create_post(client, owner, projectId=project.id, content="mine")
    headers = stranger.headers
    responses = [
        await client.get(f"/v1/posts/{post['id']}", headers=headers),
        await client.patch(f"/v1/posts/{post['id']}", headers=headers, json={"content": "hacked"}),
        await client.post("/v1/posts", headers=headers, json={"projectId": project.id}),
        await client.get("/v1/posts", headers=headers, params={"projectId": project.id}),
        await client.post(
            "/v1/posts/generations",
            headers=headers,
            json={"projectId": project.id, "source": {"text": "x"}},
        ),
    ]
    for response in responses:
        assert_error(response, 404, "not_found")
    # A malformed id is simply unknown.
    for response in (
        await client.get("/v1/posts/post_%00", headers=owner.headers),
        await client.patch("/v1/posts/post_%00", headers=owner.headers, json={"title": "x"}),
    ):
        assert_error(response, 404, "not_found")
    assert await read_post(client, owner, post["id"]) == post
