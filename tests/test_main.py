"""The app's lifespan: shutting down closes every connection it opened."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually


async def test_shutdown_closes_its_redis_connections(settings: Settings, redis: Redis) -> None:
    async def client_count() -> int:
        return len(await redis.client_list())

    before = await client_count()
    async with serve(create_app(settings)) as client:
        response: httpx.Response = await client.get("/v1/health")
        assert response.json()["checks"]["redis"]["ok"] is True
        assert await client_count() > before
    await eventually(client_count, lambda count: count == before, within=2.0)
