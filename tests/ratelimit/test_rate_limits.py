from __future__ import annotations

import httpx

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.conftest import make_settings
from tests.factories import Factory

CLOSED_REDIS = "redis://127.0.0.1:1/0"


def limited(settings: Settings, read: int) -> Settings:
    return settings.model_copy(update={"rate_limits": {"read": read, "write": 120, "ai": 60}})


async def test_every_authenticated_response_carries_the_budget(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    first = await client.get("/v1/workspaces/me", headers=tenant.headers)
    second = await client.get("/v1/workspaces/me", headers=tenant.headers)
    assert first.headers["x-ratelimit-limit"] == "600"
    assert int(first.headers["x-ratelimit-remaining"]) == 599
    assert int(second.headers["x-ratelimit-remaining"]) == 598
    assert 1 <= int(first.headers["x-ratelimit-reset"]) <= 60


async def test_request_over_the_window_is_429_with_retry_after(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    async with serve(create_app(limited(settings, 3))) as client:
        answers = [await client.get("/v1/workspaces/me", headers=tenant.headers) for _ in range(4)]
        unaffected = await client.get("/v1/workspaces/me", headers=other.headers)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert unaffected.status_code == 200


async def test_keys_of_one_workspace_share_the_budget_and_plans_multiply_it(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    second_key = await factory.key(tenant.workspace.id)
    business = await factory.tenant(plan="BUSINESS")
    async with serve(create_app(limited(settings, 2))) as client:
        one = await client.get("/v1/workspaces/me", headers=tenant.headers)
        two = await client.get(
            "/v1/workspaces/me", headers={"Authorization": f"Bearer {second_key.secret}"}
        )
        three = await client.get("/v1/workspaces/me", headers=tenant.headers)
        doubled = await client.get("/v1/workspaces/me", headers=business.headers)
    assert [one.status_code, two.status_code, three.status_code] == [200, 200, 429]
    assert doubled.headers["x-ratelimit-limit"] == "4"


async def test_buckets_are_separate(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    async with serve(create_app(limited(settings, 1))) as client:
        await client.get("/v1/workspaces/me", headers=tenant.headers)
        read_refused = await client.get("/v1/workspaces/me", headers=tenant.headers)
        write = await client.post(
            "/v1/notes", headers=tenant.headers, json={"projectId": "proj_x", "content": "x"}
        )
    assert read_refused.status_code == 429
    assert write.status_code == 404  # counted in the write bucket, then the project lookup
    assert write.headers["x-ratelimit-limit"] == "120"


async def test_redis_down_fails_open(server_urls: tuple[str, str], factory: Factory) -> None:
    tenant = await factory.tenant()
    settings = make_settings(
        server_urls[0], CLOSED_REDIS, rate_limits={"read": 1, "write": 1, "ai": 1}
    )
    async with serve(create_app(settings)) as client:
        answers = [await client.get("/v1/workspaces/me", headers=tenant.headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    # Every authenticated response still carries the headers: nothing was counted, so the
    # whole limit remains.
    for answer in answers:
        assert answer.headers["x-ratelimit-limit"] == "1"
        assert answer.headers["x-ratelimit-remaining"] == "1"
        assert answer.headers["x-ratelimit-reset"] == "0"


async def test_rate_limit_comes_after_scope_and_before_validation(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant(scopes=("projects:read",))
    async with serve(create_app(limited(settings, 1))) as client:
        await client.get("/v1/projects", headers=tenant.headers)
        scope_first = await client.get("/v1/jobs", headers=tenant.headers)
        limited_first = await client.get("/v1/projects?limit=abc", headers=tenant.headers)
    assert scope_first.json()["error"]["code"] == "scope_missing"
    assert limited_first.json()["error"]["code"] == "rate_limited"
