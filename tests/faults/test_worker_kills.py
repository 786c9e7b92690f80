"""§4.2 crash recovery under repeated SIGKILLs of real worker processes: every job still ends
DONE once, with one post, and its spend is reconciled once to what the ledger says (§6).

Beyond tests/jobs/test_recovery.py (one kill, one job): twenty kills of whole worker processes
holding several attempts each, while another worker keeps claiming, so kills land mid-provider
call, between the call and the completing commit, and on jobs already retried.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.assertions import eventually
from tests.factories import Factory
from tests.faults.ledger import assert_reconciled_once, jobs_of, per_job, posts_of, read_ledger
from tests.faults.processes import (
    ServiceProcess,
    api_process,
    client_of,
    worker_process,
)
from tests.faults.worker_process import inflight_key
from tests.scripted_provider import script
from tests.workers_support import wait_for_exit

JOBS = 30
KILLS = 20
WORKERS = 2


async def _inflight(redis: Redis, worker: ServiceProcess) -> set[str]:
    members = await cast(Awaitable[set[bytes]], redis.smembers(inflight_key(worker.pid)))
    return {member.decode() for member in members}


async def _kill_mid_job(redis: Redis, victim: ServiceProcess, *, after_call: bool) -> set[str]:
    """SIGKILL `victim` while it runs attempts; returns the attempts caught in the provider.

    `after_call`: wait for one of its attempts to leave the provider call first, so the kill
    lands between the call's recorded usage and the completing commit (or just after it).
    """
    running = await eventually(lambda: _inflight(redis, victim), bool, within=60)
    if after_call:
        await eventually(
            lambda: _inflight(redis, victim), lambda now: not running <= now, within=60
        )
    caught = await _inflight(redis, victim)
    victim.kill()
    await wait_for_exit(victim.process, within=10)
    return caught if not after_call else set()


@pytest.mark.slow
async def test_twenty_sigkills_leave_every_job_done_once_and_reconciled_once(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    # A job may be hit by several kills: attempts are not what this test is about.
    settings = fault_settings.model_copy(update={"job_max_attempts": 100, "worker_max_jobs": 3})
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    seed = time.time_ns()
    rng = random.Random(seed)
    interrupted: list[str] = []
    async with (
        api_process(settings, tmp_path / "api.log") as api,
        client_of(api, **tenant.headers) as client,
    ):
        job_ids = []
        for _ in range(JOBS):
            body = {
                "projectId": project.id,
                "source": {"text": script(sleep_ms=rng.randint(600, 1500))},
            }
            response = await client.post("/v1/posts/generations", json=body)
            assert response.status_code == 202, response.text
            job_ids.append(response.json()["data"]["id"])

        async with contextlib.AsyncExitStack() as stack:
            started = 0

            async def start_worker() -> ServiceProcess:
                nonlocal started
                started += 1
                return await stack.enter_async_context(
                    worker_process(settings, tmp_path / f"worker-{started}.log")
                )

            workers = deque([await start_worker() for _ in range(WORKERS)])
            for number in range(KILLS):
                victim = workers.popleft()
                after_call = number % 3 == 2
                caught = await _kill_mid_job(fault_redis, victim, after_call=after_call)
                interrupted.extend(caught)
                workers.append(await start_worker())

            async def unfinished() -> list[str]:
                jobs = await jobs_of(fault_sessionmaker, tenant.workspace.id)
                return [job.id for job in jobs.values() if job.status in ("QUEUED", "RUNNING")]

            await eventually(unfinished, lambda left: not left, within=120)

        answers: list[dict[str, Any]] = []
        for job_id in job_ids:
            response = await client.get(f"/v1/jobs/{job_id}")
            assert response.status_code == 200
            answers.append(response.json()["data"])

    context = f"seed {seed}"
    assert len(interrupted) >= KILLS * 2 // 3, context
    assert all(job["status"] == "DONE" for job in answers), (context, answers)
    jobs = await jobs_of(fault_sessionmaker, tenant.workspace.id)
    for killed in interrupted:
        # The killed attempt never completed: a later one did.
        job_id, attempt = killed.rsplit(":", 1)
        assert jobs[job_id].attempt_count > int(attempt), (context, killed)
    assert sum(job.attempt_count for job in jobs.values()) >= JOBS + KILLS * 2 // 3
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert per_job(posts) == dict.fromkeys(job_ids, 1), context
    by_id = {post.id: post for post in posts}
    ledger = await read_ledger(fault_sessionmaker, tenant.workspace.id)
    for job in answers:
        # A provider is paid once per output: after a call completed, later attempts (its
        # worker was killed before saving) reuse that output instead of calling again.
        completed = [c for c in ledger.calls[job["id"]] if c.state == "completed"]
        assert len(completed) == 1, (context, job["id"], completed)
        post = by_id[job["result"]["postId"]]
        assert f"Attempt {completed[0].attempt}." in post.content, (context, job)
    charges = assert_reconciled_once(ledger, job_ids)
    # Each completed call reports 1¢; each call a kill cut short is charged its 5¢ estimate.
    assert all(charge >= 1 for charge in charges.values()), charges
