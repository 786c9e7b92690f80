"""SQL for jobs. Every state change is a compare-and-set: it names the state it expects and
returns the row only when it won. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.filters import DateRange
from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import created_within, fetch_page
from scripe_api.db.models import Job
from scripe_api.db.models.job import JOB_TYPES

# Database-clock "now" at millisecond precision, the precision every timestamp is stored at.
NOW_MS = func.date_trunc("milliseconds", func.now())

# One sweep at a time across all workers (pg_try_advisory_xact_lock key).
SWEEP_LOCK_KEY = 0x5C819E


def add(session: AsyncSession, job: Job) -> None:
    session.add(job)


async def get(session: AsyncSession, workspace_id: str, job_id: str) -> Job | None:
    if not can_exist(job_id):
        return None
    job: Job | None = await session.scalar(
        select(Job).where(Job.workspace_id == workspace_id, Job.id == job_id)
    )
    return job


async def get_any(session: AsyncSession, job_id: str) -> Job | None:
    """For the worker: a job by id, whatever its workspace."""
    job: Job | None = await session.scalar(select(Job).where(Job.id == job_id))
    return job


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    *,
    types: list[str] | None,
    statuses: list[str] | None,
    dates: DateRange,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Job]:
    statement = select(Job).where(Job.workspace_id == workspace_id)
    if types:
        statement = statement.where(Job.type.in_(types))
    if statuses:
        statement = statement.where(Job.status.in_(statuses))
    statement = created_within(statement, Job.created_at, dates)
    return await fetch_page(
        session,
        statement,
        (Job.created_at, Job.id),
        request,
        codec,
        lambda job: Position(job.created_at, job.id),
    )


async def cancel(session: AsyncSession, workspace_id: str, job_id: str) -> Job | None:
    """QUEUED → CANCELLED. Races safely with the claim: exactly one of them wins."""
    if not can_exist(job_id):
        return None
    job: Job | None = await session.scalar(
        update(Job)
        .where(Job.workspace_id == workspace_id, Job.id == job_id, Job.status == "QUEUED")
        .values(status="CANCELLED", completed_at=NOW_MS, updated_at=NOW_MS)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return job


async def claim(session: AsyncSession, job_id: str, attempt: int, lease: timedelta) -> Job | None:
    """Start attempt `attempt`: QUEUED → RUNNING for the first; for a later one, take over a
    RUNNING job whose previous attempt's lease (or retry backoff) has expired."""
    if attempt == 1:
        condition = Job.status == "QUEUED"
        values: dict[str, Any] = {"started_at": NOW_MS}
    else:
        condition = and_(
            Job.status == "RUNNING",
            Job.attempt_count == attempt - 1,
            Job.lease_expires_at < func.now(),
        )
        values = {}
    job: Job | None = await session.scalar(
        update(Job)
        .where(Job.id == job_id, condition)
        .values(
            status="RUNNING",
            attempt_count=attempt,
            lease_expires_at=func.now() + lease,
            updated_at=NOW_MS,
            **values,
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return job


def _held_by(job_id: str, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.status == "RUNNING", Job.attempt_count == attempt)


async def lock_if_held(session: AsyncSession, job_id: str, attempt: int) -> bool:
    """Lock the row for this transaction if `attempt` still holds the job."""
    held = await session.scalar(select(Job.id).where(_held_by(job_id, attempt)).with_for_update())
    return held is not None


async def renew_lease(session: AsyncSession, job_id: str, attempt: int, lease: timedelta) -> bool:
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, attempt))
        # A heartbeat is bookkeeping, not a change a client sees: `updatedAt` stays (without
        # naming it here, the column's ORM onupdate would bump it on every heartbeat).
        .values(lease_expires_at=func.now() + lease, updated_at=Job.updated_at)
        .returning(Job.id)
    )
    return result.first() is not None


async def finish(
    session: AsyncSession,
    job_id: str,
    attempt: int,
    *,
    status: str,
    result: dict[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> Job | None:
    """RUNNING → DONE/FAILED, only for the attempt that holds the job."""
    job: Job | None = await session.scalar(
        update(Job)
        .where(_held_by(job_id, attempt))
        .values(
            status=status,
            result=result,
            error_code=error_code,
            error_message=error_message,
            lease_expires_at=None,
            completed_at=NOW_MS,
            updated_at=NOW_MS,
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return job


async def defer_next_attempt(
    session: AsyncSession, job_id: str, attempt: int, backoff: timedelta
) -> bool:
    """After a transient failure: the job stays RUNNING and attempt n+1 may claim it once the
    backoff has passed (the lease column then means "not before")."""
    result = await session.execute(
        update(Job)
        .where(_held_by(job_id, attempt))
        .values(lease_expires_at=func.now() + backoff, updated_at=NOW_MS)
        .returning(Job.id)
    )
    return result.first() is not None


async def try_sweep_lock(session: AsyncSession) -> bool:
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(SWEEP_LOCK_KEY)))
    return bool(locked)


async def expired_running(session: AsyncSession, limit: int) -> Sequence[tuple[str, int]]:
    """RUNNING jobs whose lease (or backoff) expired: (id, attempt_count), oldest lease first."""
    rows = await session.execute(
        select(Job.id, Job.attempt_count)
        .where(Job.status == "RUNNING", Job.lease_expires_at < func.now())
        .order_by(Job.lease_expires_at)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def stale_queued(session: AsyncSession, grace: timedelta, limit: int) -> Sequence[str]:
    """QUEUED jobs older than `grace`: their enqueue may have been lost."""
    rows = await session.scalars(
        select(Job.id)
        .where(Job.status == "QUEUED", Job.created_at < func.now() - grace)
        .order_by(Job.created_at)
        .limit(limit)
    )
    return list(rows.all())


async def fail_exhausted(session: AsyncSession, job_id: str, attempt: int) -> Job | None:
    """The worker of the last allowed attempt died: FAILED attempts_exhausted."""
    job: Job | None = await session.scalar(
        update(Job)
        .where(_held_by(job_id, attempt), Job.lease_expires_at < func.now())
        .values(
            status="FAILED",
            error_code="attempts_exhausted",
            error_message=f"The job's worker was lost on all {attempt} attempts.",
            lease_expires_at=None,
            completed_at=NOW_MS,
            updated_at=NOW_MS,
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return job


async def median_durations_ms(session: AsyncSession, sample: int) -> dict[str, int]:
    """Per type: median submit→completion of the last `sample` DONE live-key jobs."""
    rows = await session.execute(
        text(
            """
            SELECT type, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
            FROM (
                SELECT t.type, d.duration_ms
                FROM unnest(CAST(:types AS text[])) AS t(type)
                CROSS JOIN LATERAL (
                    -- created_at comes from the API host, completed_at from the database clock:
                    -- a tiny skew must not make a fast job last less than nothing.
                    SELECT GREATEST(EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000, 0)
                        AS duration_ms
                    FROM jobs
                    WHERE type = t.type AND status = 'DONE' AND key_mode = 'live'
                    ORDER BY completed_at DESC
                    LIMIT :sample
                ) d
            ) recent
            GROUP BY type
            """
        ),
        {"sample": sample, "types": list(JOB_TYPES)},
    )
    return {row[0]: round(row[1]) for row in rows if row[1] is not None}
