"""§4.2 crash recovery with real worker processes: a killed worker's job runs again, once; a
worker told to stop abandons its attempt to lease expiry."""

from __future__ import annotations

import signal
import time
import uuid

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import get_job, poll_job, posts_of_job, submit_generation, wait_for_key
from tests.scripted_provider import release_key, script, started_key
from tests.workers_support import running_worker, wait_for_exit, worker_process


async def test_job_of_a_killed_worker_runs_again_and_saves_one_post(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    job = await submit_generation(client, tenant, project.id, script(block=block))
    async with worker_process(settings) as process:
        await wait_for_key(redis, started_key(job["id"], 1))
        running = await get_job(client, tenant, job["id"])
        assert running["status"] == "RUNNING"
        assert running["attemptCount"] == 1
        process.send_signal(signal.SIGKILL)
        await wait_for_exit(process, within=5)
    await redis.set(release_key(block), "1")
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 2
    assert done["startedAt"] == running["startedAt"]  # the first attempt's start
    posts = await posts_of_job(sessionmaker, job["id"])
    assert [post.id for post in posts] == [done["result"]["postId"]]
    assert "Attempt 2." in posts[0].content


async def test_sigterm_abandons_the_attempt_to_the_next_worker(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    job = await submit_generation(client, tenant, project.id, script(block=block))
    async with worker_process(settings) as process:
        await wait_for_key(redis, started_key(job["id"], 1))
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        # The attempt gets the grace period, then is abandoned; closing takes a moment more.
        code = await wait_for_exit(process, within=settings.worker_shutdown_grace_seconds + 5)
        assert code == 0
        assert time.monotonic() - stopped_at >= settings.worker_shutdown_grace_seconds * 0.9
    left = await get_job(client, tenant, job["id"])
    assert left["status"] == "RUNNING"
    assert left["attemptCount"] == 1
    await redis.set(release_key(block), "1")
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 2
    assert len(await posts_of_job(sessionmaker, job["id"])) == 1


async def test_attempt_longer_than_its_lease_keeps_it_by_heartbeat(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    # Twice the lease: without heartbeats the sweep would hand it to a second attempt.
    sleep_ms = round(settings.job_lease_seconds * 2000)
    job = await submit_generation(client, tenant, project.id, script(sleep_ms=sleep_ms))
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1
    assert len(await posts_of_job(sessionmaker, job["id"])) == 1
