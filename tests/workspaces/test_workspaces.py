"""§7.1 `GET /v1/workspaces/me`: not wrapped, the workspace and the calling key."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Factory


@pytest.mark.smoke
async def test_workspace_me(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant(plan="BUSINESS", scopes=("projects:read", "posts:write"))
    response = await client.get("/v1/workspaces/me", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "workspace": {
            "id": tenant.workspace.id,
            "name": tenant.workspace.name,
            "plan": "BUSINESS",
            "features": {"apiAccess": True},
        },
        "principal": {
            "type": "api_key",
            "id": tenant.key_id,
            "scopes": ["posts:write", "projects:read"],
        },
    }
    assert tenant.workspace.id.startswith("org_")
    assert tenant.key_id.startswith("key_")


async def test_workspace_me_is_the_keys_own(client: httpx.AsyncClient, factory: Factory) -> None:
    first = await factory.tenant()
    second = await factory.tenant()
    for tenant in (first, second):
        body = (await client.get("/v1/workspaces/me", headers=tenant.headers)).json()
        assert body["workspace"]["id"] == tenant.workspace.id
        assert body["principal"]["id"] == tenant.key_id
