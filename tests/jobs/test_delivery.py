"""§4.2 delivery guarantee: Postgres is the source of truth; the sweep repairs lost enqueues and
lost workers, and fails a job whose worker was lost on every attempt."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
from arq.constants import default_queue_name
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.jobs.queue import queue_job_id
from scripe_api.jobs.sweep import sweep
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually
from tests.conftest import make_settings
from tests.factories import Factory
from tests.jobs.calls import (
    claim_and_die,
    get_job,
    poll_job,
    posts_of_job,
    submit_generation,
)
from tests.workers_support import running_worker, worker_deps

CLOSED_REDIS = "redis://127.0.0.1:1/0"


async def pending(redis: Redis, deliveries: list[str]) -> list[str]:
    """Which of these queue entries are still waiting to be delivered."""
    return [
        entry for entry in deliveries if await redis.zscore(default_queue_name, entry) is not None
    ]


async def queue_depth(client: httpx.AsyncClient) -> object:
    response = await client.get("/v1/health")
    assert response.status_code == 200, response.text
    depth: object = response.json()["checks"]["queue"]["depth"]
    return depth


async def test_job_accepted_while_redis_is_down_runs_once_redis_is_back(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    server_urls: tuple[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    without_redis = create_app(make_settings(server_urls[0], CLOSED_REDIS))
    async with serve(without_redis) as api:
        started = time.monotonic()
        response = await api.post(
            "/v1/posts/generations",
            headers=tenant.headers,
            json={
                "projectId": project.id,
                "source": {"text": "Redis is down. The job is not lost."},
                "wait_for_completion_ms": 10_000,
            },
        )
        # A sync wait cannot be notified without Redis: it answers at once, committed.
        assert time.monotonic() - started < 3
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["status"] == "QUEUED"
    assert (await get_job(client, tenant, job["id"]))["status"] == "QUEUED"
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1
    assert len(await posts_of_job(sessionmaker, job["id"])) == 1


async def test_emptied_redis_loses_no_job(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, redis: Redis
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    assert await queue_depth(client) == 1
    await redis.flushall()
    assert await queue_depth(client) == 0
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1


async def test_worker_lost_on_every_attempt_fails_the_job(
    database: Database,
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A shorter lease than the suite's, so three lost attempts take about two seconds.
    fast = settings.model_copy(update={"job_lease_seconds": 0.6, "job_heartbeat_seconds": 0.2})
    lease = timedelta(seconds=fast.job_lease_seconds)
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job_id = (await submit_generation(client, tenant, project.id))["id"]
    async with worker_deps(fast) as deps:
        assert await claim_and_die(database, job_id, 1, lease)
        for attempt in (2, 3):
            assert not await claim_and_die(database, job_id, attempt, lease)
            # Once the lease has expired the sweep hands the job to the next attempt ...
            await eventually(lambda: sweep(deps), lambda report: report.retried > 0)
            job = await get_job(client, tenant, job_id)
            assert job["status"] == "RUNNING"
            assert job["attemptCount"] == attempt - 1
            # ... whose worker dies as well.
            assert await claim_and_die(database, job_id, attempt, lease)
        await eventually(lambda: sweep(deps), lambda report: report.exhausted > 0)
    failed = await get_job(client, tenant, job_id)
    assert failed["status"] == "FAILED", failed
    assert failed["errorCode"] == "attempts_exhausted"
    assert failed["errorMessage"]
    assert failed["attemptCount"] == 3
    assert failed["completedAt"] is not None
    # The attempts the sweep enqueued are delivered late to a live worker: they do nothing.
    deliveries = [queue_job_id(job_id, attempt) for attempt in (1, 2, 3)]
    assert await pending(redis, deliveries) == deliveries
    async with running_worker(settings):
        await eventually(lambda: pending(redis, deliveries), lambda left: left == [])
    assert await get_job(client, tenant, job_id) == failed
    assert await posts_of_job(sessionmaker, job_id) == []
