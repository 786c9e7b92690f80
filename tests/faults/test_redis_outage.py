"""§1.5 / §4.2 with Redis stopped or emptied under a real API process and a real worker process.

Beyond tests/jobs/test_redis_outage.py (in-process app and worker, one job submitted during the
outage): jobs already queued and already running when Redis goes, the API's answers during the
outage (202s, reads, sync waits, health, the rate limiter failing open), and its recovery —
health, the rate limiter and the completion notifications of sync waits — without a restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.embedded import EmbeddedStack
from scripe_api.settings import Settings
from tests.assertions import assert_error, eventually
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import assert_reconciled_once, per_job, posts_of, read_ledger
from tests.faults.processes import api_process, client_of, worker_process
from tests.scripted_provider import script, started_key

# Two attempts at a time, each longer than it takes to stop Redis once both have started: no
# attempt starts during the outage (the scripted provider itself talks to Redis as it starts).
SLOTS = 2
LONG_MS = 2500
READ_LIMIT = 5


def outage_settings(settings: Settings) -> Settings:
    # Tenants on ENTERPRISE poll freely; an ADVANCED tenant gets READ_LIMIT reads a minute.
    return settings.model_copy(
        update={
            "worker_max_jobs": SLOTS,
            "rate_limits": {"read": READ_LIMIT, "write": 1000, "ai": 1000},
            "rate_limit_plan_multipliers": {"ADVANCED": 1.0, "ENTERPRISE": 1000.0},
        }
    )


async def _wait_for_started(redis: Redis, job_ids: list[str]) -> None:
    async def started() -> int:
        return int(await redis.exists(*(started_key(job_id, 1) for job_id in job_ids)))

    await eventually(started, lambda count: count >= SLOTS, within=30)


async def _health(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/v1/health")


async def _reads_until_limited(client: httpx.AsyncClient) -> list[int]:
    return [(await client.get("/v1/workspaces/me")).status_code for _ in range(READ_LIMIT + 1)]


async def test_redis_stopped_with_jobs_queued_and_running_then_restarted(
    fault_settings: Settings,
    fault_stack: EmbeddedStack,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    settings = outage_settings(fault_settings)
    tenant = await fault_factory.tenant(plan="ENTERPRISE")
    limited = await fault_factory.tenant(plan="ADVANCED")
    project = await fault_factory.project(tenant.workspace.id)
    async with (
        api_process(settings, tmp_path / "api.log") as api,
        worker_process(settings, tmp_path / "worker.log"),
        client_of(api, **tenant.headers) as client,
        client_of(api, **limited.headers) as limited_client,
    ):
        before = [
            (await submit(client, project.id, script(sleep_ms=LONG_MS)))["id"] for _ in range(4)
        ]
        await _wait_for_started(fault_redis, before)
        fault_stack.redis.stop()
        try:
            # Writes are committed and answered 202; the sweep enqueues them later.
            during = [
                (await submit(client, project.id, script(sleep_ms=100)))["id"] for _ in range(2)
            ]
            waited = await submit(
                client, project.id, script(sleep_ms=100), wait_for_completion_ms=3000
            )
            assert waited["status"] == "QUEUED"  # the committed state, at once
            during.append(waited["id"])
            listed = await client.get("/v1/jobs", params={"limit": 50})
            assert listed.status_code == 200, listed.text
            assert {job["id"] for job in listed.json()["data"]} >= {*before, *during}
            running = (await client.get(f"/v1/jobs/{before[0]}")).json()["data"]
            assert running["status"] == "RUNNING"
            assert running["progress"] is None
            health = await client.get("/v1/health")
            assert health.status_code == 503
            assert health.json()["status"] == "degraded"
            assert health.json()["checks"]["redis"]["ok"] is False
            assert health.json()["checks"]["db"]["ok"] is True
            # The rate limiter fails open: more reads than the limit all pass.
            assert await _reads_until_limited(limited_client) == [200] * (READ_LIMIT + 1)
        finally:
            fault_stack.redis.start()  # the same port: every client reconnects by itself

        healthy = await eventually(lambda: _health(client), lambda r: r.status_code == 200)
        assert healthy.json()["status"] == "ok"
        # The limiter counts again: within the next READ_LIMIT + 1 reads one is refused.
        refused = await eventually(
            lambda: _reads_until_limited(limited_client), lambda codes: 429 in codes, within=10
        )
        assert set(refused) <= {200, 429}
        # Sync waits are woken by completion notifications again, once the API's subscription
        # is back (until then a wait answers at once with the committed state).
        waits: list[dict[str, Any]] = []

        async def sync_wait() -> dict[str, Any]:
            waits.append(
                await submit(client, project.id, script(sleep_ms=50), wait_for_completion_ms=20000)
            )
            return waits[-1]

        await eventually(sync_wait, lambda job: job["status"] == "DONE", within=30)
        jobs = await settle(client, [*before, *during, *(job["id"] for job in waits)])
    assert [job["status"] for job in jobs] == ["DONE"] * len(jobs), jobs
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert per_job(posts) == {job["id"]: 1 for job in jobs}
    assert_reconciled_once(
        await read_ledger(fault_sessionmaker, tenant.workspace.id), [job["id"] for job in jobs]
    )


async def test_redis_emptied_twice_with_jobs_queued_and_running(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    settings = outage_settings(fault_settings)
    tenant = await fault_factory.tenant(plan="ENTERPRISE")
    project = await fault_factory.project(tenant.workspace.id)
    async with (
        api_process(settings, tmp_path / "api.log") as api,
        worker_process(settings, tmp_path / "worker.log"),
        client_of(api, **tenant.headers) as client,
    ):
        job_ids = [(await submit(client, project.id, script(sleep_ms=600)))["id"] for _ in range(6)]
        await _wait_for_started(fault_redis, job_ids)
        # The queue, the running attempts' queue entries and the progress snapshots all go.
        await fault_redis.flushall()
        job_ids += [(await submit(client, project.id, script(sleep_ms=300)))["id"]]

        async def done_count() -> int:
            jobs = await asyncio.gather(*(client.get(f"/v1/jobs/{i}") for i in job_ids))
            return sum(job.json()["data"]["status"] == "DONE" for job in jobs)

        # Once some have finished since, empty it again while the rest wait or run.
        await eventually(done_count, lambda done: done >= 2, within=30)
        await fault_redis.flushall()
        me = await client.get("/v1/workspaces/me")
        assert me.status_code == 200
        jobs = await settle(client, job_ids)
        missing = await client.get("/v1/jobs/job_00000000000000000000000000")
        assert_error(missing, 404, "not_found")
    assert [job["status"] for job in jobs] == ["DONE"] * len(jobs), jobs
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert per_job(posts) == dict.fromkeys(job_ids, 1)
    assert_reconciled_once(await read_ledger(fault_sessionmaker, tenant.workspace.id), job_ids)


# With the fix the worker polls again about a second after Redis returns; before it, each of
# its stale pooled connections failed one poll a second (14-16 s under load).
BACK_TO_WORK_WITHIN_SECONDS = 6.0


async def test_worker_takes_jobs_again_promptly_after_redis_restarts_under_load(
    fault_settings: Settings,
    fault_stack: EmbeddedStack,
    fault_factory: Factory,
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    tenant = await fault_factory.tenant(plan="ENTERPRISE")
    project = await fault_factory.project(tenant.workspace.id)
    async with (
        api_process(fault_settings, tmp_path / "api.log") as api,
        worker_process(fault_settings, tmp_path / "worker.log"),
        client_of(api, **tenant.headers) as client,
    ):
        # Many attempts at once leave the worker's pool full of connections, then idle.
        load = [(await submit(client, project.id, script(sleep_ms=300)))["id"] for _ in range(40)]
        await settle(client, load)
        fault_stack.redis.stop()
        fault_stack.redis.start()
        # Under load again: the worker's stale connections are all in use at once.
        after = [(await submit(client, project.id, script(sleep_ms=50)))["id"] for _ in range(40)]
        done = await settle(client, after, within=BACK_TO_WORK_WITHIN_SECONDS)
    assert {job["status"] for job in done} == {"DONE"}
