"""A job's end, announced in one place: whoever ended it (a cancel, a worker, the sweep), once
the ending transition has committed, waiting requests are woken (one PUBLISH per job, with the
attempt's last progress snapshot, in one pipeline) and the metrics count it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.db.pool import Record
from scripe_api.jobs import events
from scripe_api.jobs.notifications import CHANNEL
from scripe_api.observability.metrics import (
    JOB_DURATION,
    JOBS_FINISHED,
    SPEND_RECONCILED_CENTS,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finished:
    job_id: str
    type: str
    status: str
    created_at: datetime
    completed_at: datetime | None
    # What the settlement charged (None: the job reserved nothing).
    charged_cents: int | None = None
    # The ended job as GET shows it (JSON text): its `status` and `done` events.
    document: str | None = None

    @classmethod
    def of_job(cls, row: Record) -> Finished:
        """From a row carrying `id, type, status, created_at, completed_at`, `charged` and
        `document` by name."""
        return cls(
            row["id"],
            row["type"],
            row["status"],
            row["created_at"],
            row["completed_at"],
            row["charged"],
            row["document"],
        )


async def announce_finished(
    redis: Redis,
    jobs: Sequence[Finished],
    writes: Sequence[tuple[str, bytes, int]] = (),
    log: Sequence[events.Event] = (),
) -> None:
    """After the commit: count the jobs, log their ends (`status` and `done` events, after
    `log`, the attempts' last events) and wake their waiters; `writes` (key, value, TTL) go in
    the same round trip. A Redis failure loses notifications (waiters re-read at their
    deadline, or at once when the subscription drops), never a job."""
    for job in jobs:
        JOBS_FINISHED.labels(type=job.type, status=job.status).inc()
        if job.completed_at is not None:
            seconds = (job.completed_at - job.created_at).total_seconds()
            JOB_DURATION.labels(type=job.type).observe(max(seconds, 0.0))
        if job.charged_cents:
            SPEND_RECONCILED_CENTS.inc(job.charged_cents)
    ends = [
        events.Event(job.job_id, name, job.document)
        for job in jobs
        if job.document is not None
        for name in (events.STATUS, events.DONE)
    ]
    if not jobs and not writes and not log:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for key, value, ttl in writes:
                pipe.set(key, value, ex=ttl)
            events.append(pipe, [*log, *ends])
            for job in jobs:
                pipe.publish(CHANNEL, job.job_id)
            await pipe.execute()
    except (RedisError, OSError) as error:
        logger.warning(
            "completion notification for %s lost: %s",
            ", ".join(job.job_id for job in jobs) or "progress",
            type(error).__name__,
        )
