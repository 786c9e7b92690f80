"""§7.2 health: `/v1/health`, `/v1/health/auth`, and the orchestrator probes."""

from __future__ import annotations

import httpx
import pytest

from scripe_api.main import create_app
from scripe_api.settings import CURRENT_API_VERSION
from tests.apps import serve
from tests.assertions import assert_context_headers
from tests.conftest import make_settings
from tests.factories import Factory

# Closed ports: connecting is refused at once.
CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/scripe"


@pytest.mark.smoke
async def test_health_when_everything_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/health")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "max-age=5, public"
    assert_context_headers(response)
    body = response.json()
    checks = body.pop("checks")
    assert body == {
        "status": "ok",
        "version": CURRENT_API_VERSION,
        "generator": {"provider": "offline", "model": None, "isAi": False},
    }
    assert set(checks) == {"db", "redis", "queue"}
    for name in ("db", "redis"):
        assert set(checks[name]) == {"ok", "latencyMs"}, checks[name]
        assert checks[name]["ok"] is True
        assert isinstance(checks[name]["latencyMs"], int | float)
        assert checks[name]["latencyMs"] >= 0
    assert checks["queue"] == {"ok": True, "depth": 0}


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/health", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 200


async def test_redis_down_degrades_health_but_not_the_api(
    server_urls: tuple[str, str], factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    settings = make_settings(server_urls[0], CLOSED_REDIS)
    async with serve(create_app(settings)) as client:
        health = await client.get("/v1/health")
        me = await client.get("/v1/workspaces/me", headers=tenant.headers)
        auth = await client.get("/v1/health/auth", headers=tenant.headers)
        projects = await client.get("/v1/projects", headers=tenant.headers)
        ready = await client.get("/readyz")
    assert health.status_code == 503, health.text
    assert health.headers["cache-control"] == "max-age=5, public"
    assert_context_headers(health)
    body = health.json()
    assert body["status"] == "degraded"
    assert body["checks"]["db"]["ok"] is True
    redis = body["checks"]["redis"]
    assert redis["ok"] is False
    assert set(redis) == {"ok", "latencyMs", "error"}
    assert redis["error"] == "unreachable"
    assert body["checks"]["queue"] == {"ok": False, "depth": None}
    assert me.status_code == auth.status_code == 200
    assert projects.status_code == 200
    assert [item["id"] for item in projects.json()["data"]] == [project.id]
    # Redis being down does not make a replica unready.
    assert ready.status_code == 200


async def test_database_down_degrades_health(server_urls: tuple[str, str]) -> None:
    settings = make_settings(CLOSED_POSTGRES, server_urls[1])
    async with serve(create_app(settings)) as client:
        health = await client.get("/v1/health")
        ready = await client.get("/readyz")
        live = await client.get("/livez")
    assert health.status_code == 503
    checks = health.json()["checks"]
    assert checks["db"]["ok"] is False
    assert checks["db"]["error"] == "unreachable"
    assert checks["redis"]["ok"] is True
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert live.status_code == 200


async def test_health_auth(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant(scopes=("projects:read",))
    response = await client.get("/v1/health/auth", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "version": CURRENT_API_VERSION,
        "workspace": {"id": tenant.workspace.id},
        "principal": {"id": tenant.key_id, "scopes": ["projects:read"]},
    }


async def test_probes(client: httpx.AsyncClient) -> None:
    live = await client.get("/livez")
    ready = await client.get("/readyz")
    assert live.status_code == 200
    assert live.json()["status"] == "ok"
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ok"
    assert_context_headers(live)
