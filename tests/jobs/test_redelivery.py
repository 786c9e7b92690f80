from __future__ import annotations

import httpx
from redis.asyncio import Redis

from scripe_api.jobs.queue import in_progress_key, queue_job_id
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import poll_job
from tests.workers_support import running_worker

TERMINAL = {"DONE", "FAILED", "CANCELLED"}


async def test_job_taken_by_a_worker_that_died_before_claiming_runs_anyway(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, redis: Redis
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    submitted = await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"text": "Taken, then orphaned."}},
    )
    job_id = submitted.json()["data"]["id"]
    # What a worker killed between taking the entry and claiming the job leaves behind: arq's
    # in-progress marker (kept for its job timeout) and no claim.
    queue_id = queue_job_id(job_id, 1)
    await redis.set(in_progress_key(queue_id), b"1", ex=600)
    await redis.zrem("arq:queue", queue_id)
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job_id, until=TERMINAL)
    assert done["status"] == "DONE"
    assert done["attemptCount"] == 1
