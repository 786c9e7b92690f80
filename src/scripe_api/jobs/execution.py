"""Running one attempt of a job in a worker: claim → heartbeat → work → finish, all by CAS.

The attempt that claimed the job holds it; its completion is conditional on still holding it
(status RUNNING and attempt_count = its attempt), so a job is never completed twice. A worker that
dies simply stops renewing its lease; the sweep hands the job to the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.clock import db_now
from scripe_api.db.errors import is_database_outage, is_retryable_write
from scripe_api.db.models import Job
from scripe_api.db.session import UnitOfWork
from scripe_api.jobs import repository
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.hooks import JobHooks
from scripe_api.jobs.notifications import publish_finished
from scripe_api.jobs.progress import write_progress
from scripe_api.jobs.queue import enqueue_attempt
from scripe_api.observability.metrics import COMPLETION_RETRIES, count_job_finished
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.resources import Resources

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], Awaitable[None]]
# Writes the job's outcome (e.g. the post) into the finishing transaction; returns `result`.
Finisher = Callable[[AsyncSession, datetime], Awaitable[dict[str, Any]]]
Handler = Callable[["WorkerDeps", Job, int, Progress], Awaitable[Finisher]]


@dataclass
class WorkerDeps:
    resources: Resources
    providers: ProviderRegistry
    hooks: JobHooks = field(default_factory=JobHooks)
    handlers: dict[str, Handler] = field(default_factory=dict)
    provider_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))


def retry_backoff_seconds(deps: WorkerDeps, attempt: int) -> float:
    settings = deps.resources.settings
    return float(
        min(
            settings.job_retry_backoff_seconds * 2 ** (attempt - 1),
            settings.job_retry_backoff_max_seconds,
        )
    )


DATABASE_UNAVAILABLE = JobFailure(
    "internal_error", "The database was unreachable during the last attempt.", transient=True
)
OUTCOME_NOT_SAVED = JobFailure(
    "internal_error",
    "The job's result could not be saved, and retrying would not help.",
    transient=False,
)


async def run_attempt(deps: WorkerDeps, job_id: str, attempt: int) -> str:
    """Run attempt `attempt` of `job_id`; returns what happened (for logs and tests)."""
    settings = deps.resources.settings
    lease = timedelta(seconds=settings.job_lease_seconds)
    async with deps.resources.unit_of_work() as uow:
        job = await repository.claim(uow.session, job_id, attempt, lease)
    if job is None:
        # Cancelled, finished, or another attempt holds it: a duplicate delivery is harmless.
        return "skipped"
    # The lease is renewed for as long as the attempt runs, its completion included.
    work = asyncio.ensure_future(_attempt(deps, job, attempt))
    lease_lost = asyncio.Event()
    heartbeat = asyncio.create_task(_heartbeat(deps, job_id, attempt, work, lease_lost))
    try:
        return await work
    except asyncio.CancelledError:
        if lease_lost.is_set():
            logger.warning("job %s attempt %d lost its lease; abandoning", job_id, attempt)
            return "lease_lost"
        raise  # shutdown: the lease expires and the sweep hands the job on
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat


async def _attempt(deps: WorkerDeps, job: Job, attempt: int) -> str:
    settings = deps.resources.settings
    handler = deps.handlers.get(job.type)
    if handler is None:
        return await _fail(
            deps,
            job,
            attempt,
            JobFailure(
                "internal_error", f"No worker handles {job.type} jobs yet.", transient=False
            ),
        )

    async def progress(value: float, message: str) -> None:
        await write_progress(
            deps.resources.redis, job.id, value, message, settings.progress_ttl_seconds
        )

    try:
        finisher = await handler(deps, job, attempt, progress)
    except JobFailure as failure:
        return await _fail(deps, job, attempt, failure)
    except Exception as error:
        if is_database_outage(error):
            # An outage is not the job's fault: retry it like a lost worker. If the database
            # is still down, this write fails too, and the lease expiry hands the job on.
            logger.warning(
                "job %s attempt %d: database unreachable (%s)",
                job.id,
                attempt,
                type(error).__name__,
            )
            return await _fail(deps, job, attempt, DATABASE_UNAVAILABLE)
        logger.exception("job %s attempt %d crashed", job.id, attempt)
        return await _fail(
            deps,
            job,
            attempt,
            JobFailure("internal_error", "The job failed unexpectedly.", transient=False),
        )
    return await _complete_or_retry(deps, job, attempt, finisher)


async def _complete_or_retry(deps: WorkerDeps, job: Job, attempt: int, finisher: Finisher) -> str:
    """Save the outcome. A transient failure of the saving transaction (a lock or statement
    timeout, a serialization failure, an outage) retries the saving, with the work already done
    — never the work itself; past the budget the attempt is left to lease expiry, and the next
    attempt reuses a paid provider output from the ledger. A failure retrying cannot fix fails
    the job, once."""
    settings = deps.resources.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.job_completion_retry_seconds
    delay = settings.job_retry_backoff_seconds
    while True:
        try:
            return await _complete(deps, job, attempt, finisher)
        except Exception as error:
            if not is_retryable_write(error):
                logger.exception(
                    "job %s attempt %d: its outcome could not be saved", job.id, attempt
                )
                return await _fail(deps, job, attempt, OUTCOME_NOT_SAVED)
            COMPLETION_RETRIES.inc()
            if loop.time() + delay > deadline:
                logger.warning(
                    "job %s attempt %d: saving its outcome kept failing (%s); left to lease expiry",
                    job.id,
                    attempt,
                    type(error).__name__,
                )
                return "completion_abandoned"
            logger.warning(
                "job %s attempt %d: saving its outcome failed (%s); retrying in %.2f s",
                job.id,
                attempt,
                type(error).__name__,
                delay,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.job_retry_backoff_max_seconds)


async def _heartbeat(
    deps: WorkerDeps, job_id: str, attempt: int, work: asyncio.Future[Any], lost: asyncio.Event
) -> None:
    settings = deps.resources.settings
    lease = timedelta(seconds=settings.job_lease_seconds)
    while True:
        await asyncio.sleep(settings.job_heartbeat_seconds)
        try:
            async with deps.resources.unit_of_work() as uow:
                held = await repository.renew_lease(uow.session, job_id, attempt, lease)
        except Exception as error:
            # A database blip: keep working; if it lasts, the lease expires and we lose it.
            logger.warning("heartbeat of %s failed: %s", job_id, type(error).__name__)
            continue
        if not held:
            lost.set()
            work.cancel()
            return


async def _complete(deps: WorkerDeps, job: Job, attempt: int, finisher: Finisher) -> str:
    async with deps.resources.unit_of_work() as uow:
        # Lock the row while we still hold it: no other attempt can claim it until we commit.
        if not await repository.lock_if_held(uow.session, job.id, attempt):
            return "superseded"
        result = await finisher(uow.session, await db_now(uow.session))
        finished = await repository.finish(
            uow.session, job.id, attempt, status="DONE", result=result
        )
        assert finished is not None  # the row lock guarantees the compare-and-set holds
        await deps.hooks.job_ended(uow.session, finished)
        _notify_after_commit(deps, uow, finished)
    return "done"


async def _fail(deps: WorkerDeps, job: Job, attempt: int, failure: JobFailure) -> str:
    settings = deps.resources.settings
    async with deps.resources.unit_of_work() as uow:
        if failure.transient and attempt < settings.job_max_attempts:
            backoff = retry_backoff_seconds(deps, attempt)
            deferred = await repository.defer_next_attempt(
                uow.session, job.id, attempt, timedelta(seconds=backoff)
            )
            if not deferred:
                return "superseded"
            redis = deps.resources.redis

            async def enqueue_next() -> None:
                await enqueue_attempt(redis, job.id, attempt + 1, defer_seconds=backoff)

            uow.after_commit(enqueue_next)
            return "retrying"
        finished = await repository.finish(
            uow.session,
            job.id,
            attempt,
            status="FAILED",
            error_code=failure.code,
            error_message=failure.message,
        )
        if finished is None:
            return "superseded"
        await deps.hooks.job_ended(uow.session, finished)
        _notify_after_commit(deps, uow, finished)
    return "failed"


def _notify_after_commit(deps: WorkerDeps, uow: UnitOfWork, finished: Job) -> None:
    redis = deps.resources.redis
    job_id = finished.id

    async def notify() -> None:
        await publish_finished(redis, job_id)

    uow.after_commit(count_job_finished(finished))
    uow.after_commit(notify)
