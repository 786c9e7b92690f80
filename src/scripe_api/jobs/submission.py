"""Creating a job: the row joins the caller's unit of work; the enqueue runs after its commit."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis

from scripe_api.auth.principal import Principal
from scripe_api.core.ids import new_id
from scripe_api.db.models import Job
from scripe_api.db.session import UnitOfWork
from scripe_api.jobs import repository
from scripe_api.jobs.queue import enqueue_attempt


async def submit_job(
    uow: UnitOfWork,
    redis: ArqRedis,
    principal: Principal,
    *,
    job_type: str,
    project_id: str | None,
    job_input: dict[str, Any],
    estimated_completion_ms: int | None,
) -> Job:
    job = Job(
        id=new_id("job"),
        workspace_id=principal.workspace_id,
        project_id=project_id,
        type=job_type,
        status="QUEUED",
        key_mode=principal.mode,
        input=job_input,
        attempt_count=0,
        estimated_completion_ms=estimated_completion_ms,
    )
    repository.add(uow.session, job)
    await uow.session.flush()

    async def enqueue() -> None:
        # Never before commit: a worker must find the row. A lost enqueue is the sweep's job.
        await enqueue_attempt(redis, job.id, 1)

    uow.after_commit(enqueue)
    return job
