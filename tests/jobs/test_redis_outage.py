from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from scripe_api.embedded import EmbeddedRedis
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.factories import Factory
from tests.jobs.calls import poll_job
from tests.workers_support import running_worker


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, so it can be stopped and started on the same port."""
    with tempfile.TemporaryDirectory(prefix="scripe-redis-") as folder:
        server = EmbeddedRedis(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


async def test_worker_survives_a_redis_outage_and_the_job_completes(
    settings: Settings, factory: Factory, own_redis: EmbeddedRedis
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    on_own_redis = settings.model_copy(update={"redis_url": own_redis.url()})
    async with serve(create_app(on_own_redis)) as client, running_worker(on_own_redis):
        # Until the worker is polling (its first heartbeat), so the outage hits a live worker.
        probe = Redis.from_url(own_redis.url())
        deadline = time.monotonic() + 10
        while not await probe.exists("arq:queue:health-check"):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await probe.aclose()
        own_redis.stop()
        submitted: httpx.Response = await client.post(
            "/v1/posts/generations",
            headers=tenant.headers,
            json={"projectId": project.id, "source": {"text": "Redis went away for a bit."}},
        )
        assert submitted.status_code == 202  # committed; the enqueue failed and is logged
        own_redis.start()  # same port: the worker's and the API's clients reconnect
        done = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
    assert done["status"] == "DONE"
