from __future__ import annotations

import httpx

from tests.factories import Factory


async def test_list_and_get_projects(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    response = await client.get("/v1/projects", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["data"]] == [project.id]
    assert body["pagination"] == {"next_cursor": None, "has_more": False}
    one = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
    assert one.status_code == 200
    assert one.json()["data"]["createdAt"].endswith("Z")
