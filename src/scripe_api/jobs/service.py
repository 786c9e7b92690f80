"""Jobs as clients see them: read (with live progress), list, cancel, wait for the end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError, NotFound
from scripe_api.core.filters import parse_csv, parse_date_range
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.errors import is_database_unavailable
from scripe_api.db.models import Job
from scripe_api.db.models.job import JOB_STATUSES, JOB_TYPES
from scripe_api.db.session import UnitOfWork
from scripe_api.jobs import repository
from scripe_api.jobs.hooks import JobHooks
from scripe_api.jobs.notifications import CompletionHub, publish_finished
from scripe_api.jobs.progress import read_progress
from scripe_api.jobs.schemas import JobProgress, JobRead
from scripe_api.observability.metrics import count_job_finished

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"DONE", "FAILED", "CANCELLED"})
# How long a waiter gives the completion subscription to come up before answering at once.
_SUBSCRIBE_WAIT_SECONDS = 0.25


class NotCancellable(AppError):
    code = "not_cancellable"
    status_code = 409
    default_message = "Only QUEUED jobs can be cancelled in v1."


def job_view(job: Job, snapshot: dict[str, Any] | None = None) -> JobRead:
    """The API's Job. Progress shows only while RUNNING; `updatedAt` is then the later of the
    row's change and the snapshot's."""
    view = JobRead.model_validate(job)
    view.progress = None
    if job.status == "RUNNING" and snapshot is not None:
        try:
            progress = JobProgress.model_validate(
                {
                    "progress": snapshot["progress"],
                    "message": snapshot["message"],
                    "updatedAt": datetime.fromisoformat(snapshot["updatedAt"]),
                }
            )
        except (KeyError, ValueError, TypeError):
            return view
        view.progress = progress
        view.updated_at = max(view.updated_at, progress.updated_at)
    return view


async def get_job(
    session: AsyncSession, redis: Redis, principal: Principal, job_id: str
) -> JobRead:
    job = await repository.get(session, principal.workspace_id, job_id)
    if job is None:
        raise NotFound(f"Job '{job_id}' was not found.")
    snapshot = await read_progress(redis, job.id) if job.status == "RUNNING" else None
    return job_view(job, snapshot)


async def list_jobs(
    session: AsyncSession,
    principal: Principal,
    codec: CursorCodec,
    *,
    type_filter: str | None,
    status_filter: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Job]:
    types = parse_csv(type_filter, JOB_TYPES, "type")
    statuses = parse_csv(status_filter, JOB_STATUSES, "status")
    dates = parse_date_range(date_from, date_to)
    request = codec.page_request(
        limit,
        cursor,
        "jobs",
        principal.workspace_id,
        {"type": types, "status": statuses, **dates.as_filter()},
    )
    return await repository.list_page(
        session,
        principal.workspace_id,
        types=types,
        statuses=statuses,
        dates=dates,
        request=request,
        codec=codec,
    )


async def cancel_job(
    uow: UnitOfWork, redis: Redis, hooks: JobHooks, principal: Principal, job_id: str
) -> JobRead:
    job = await repository.cancel(uow.session, principal.workspace_id, job_id)
    if job is None:
        current = await repository.get(uow.session, principal.workspace_id, job_id)
        if current is None:
            raise NotFound(f"Job '{job_id}' was not found.")
        raise NotCancellable(
            f"Job is in '{current.status}'; only QUEUED jobs can be cancelled in v1."
        )
    await hooks.job_ended(uow.session, job)
    uow.after_commit(count_job_finished(job))

    async def notify() -> None:
        # A cancelled job is finished too: requests waiting on it answer now, not at their
        # deadline.
        await publish_finished(redis, job_id)

    uow.after_commit(notify)
    return job_view(job)


async def wait_for_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    hub: CompletionHub,
    principal: Principal,
    committed: JobRead,
    timeout_ms: int,
) -> JobRead:
    """Wait up to `timeout_ms` for the `committed` job to end, event-driven, holding no
    database connection while waiting. Registers before the final read so no completion is
    missed; answers at once when Redis (the notification path) is down or the process shuts
    down. The job is already durable: if the database fails meanwhile, the answer is the last
    state read (at worst `committed`), never an error."""
    try:
        return await _wait(sessionmaker, redis, hub, principal, committed, timeout_ms)
    except Exception as error:
        if not is_database_unavailable(error):
            raise
        logger.warning("sync wait for %s ended early: database unavailable", committed.id)
        return committed


async def _wait(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    hub: CompletionHub,
    principal: Principal,
    committed: JobRead,
    timeout_ms: int,
) -> JobRead:
    job_id = committed.id
    async with hub.watch(job_id) as finished:
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        is_listening = await hub.wait_subscribed(_SUBSCRIBE_WAIT_SECONDS)
        while True:
            # Clear before reading: a notification arriving after the read sets it again.
            finished.clear()
            async with sessionmaker() as session:
                view = await get_job(session, redis, principal, job_id)
            remaining = deadline - asyncio.get_running_loop().time()
            if view.status in TERMINAL_STATUSES or not is_listening or remaining <= 0:
                return view
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), remaining)
            is_listening = hub.is_listening
