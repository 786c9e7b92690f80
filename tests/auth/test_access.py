"""§2 access: which plans get API access, and which scopes each endpoint accepts."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import ApiKey
from tests.assertions import assert_error, eventually
from tests.factories import Factory

AUTHENTICATED = ["/v1/workspaces/me", "/v1/health/auth", "/v1/projects", "/v1/projects/proj_x"]
NO_SCOPE_NEEDED = ["/v1/workspaces/me", "/v1/health/auth"]


@pytest.mark.parametrize("plan", ["FREE", "SOLO"])
async def test_plans_without_api_access_are_refused_everywhere(
    client: httpx.AsyncClient, factory: Factory, plan: str
) -> None:
    tenant = await factory.tenant(plan=plan)
    for path in AUTHENTICATED:
        error = assert_error(
            await client.get(path, headers=tenant.headers), 403, "plan_not_eligible"
        )
        assert plan in error["message"]


@pytest.mark.parametrize("plan", ["TRIAL", "ADVANCED", "BUSINESS", "ENTERPRISE"])
async def test_plans_with_api_access_are_allowed(
    client: httpx.AsyncClient, factory: Factory, plan: str
) -> None:
    tenant = await factory.tenant(plan=plan)
    for path in ("/v1/workspaces/me", "/v1/health/auth", "/v1/projects"):
        response = await client.get(path, headers=tenant.headers)
        assert response.status_code == 200, (path, response.text)
    me = await client.get("/v1/workspaces/me", headers=tenant.headers)
    assert me.json()["workspace"]["plan"] == plan


@pytest.mark.parametrize("path", ["/v1/projects", "/v1/projects/proj_x"])
async def test_missing_scope_lists_the_accepted_ones(
    client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    tenant = await factory.tenant(scopes=("posts:read", "posts:write", "jobs:read"))
    error = assert_error(await client.get(path, headers=tenant.headers), 403, "scope_missing")
    assert error["details"] == {"required": ["projects:read"]}


async def test_scope_grants_access(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant(scopes=("projects:read",))
    assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200


@pytest.mark.parametrize("path", NO_SCOPE_NEEDED)
async def test_endpoints_without_a_scope_accept_a_key_with_none(
    client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    tenant = await factory.tenant(scopes=())
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["principal"]["scopes"] == []


async def test_a_scopeless_key_still_needs_scopes_elsewhere(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant(scopes=())
    assert_error(await client.get("/v1/projects", headers=tenant.headers), 403, "scope_missing")


async def test_scope_edits_take_effect_within_the_cache_ttl(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant(scopes=("projects:read",))
    assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.id == tenant.key_id).values(scopes=["posts:read"])
        )

    async def probe() -> httpx.Response:
        return await client.get("/v1/projects", headers=tenant.headers)

    response = await eventually(probe, lambda r: r.status_code != 200, within=3.0)
    assert_error(response, 403, "scope_missing")
