"""The sweep (an arq cron job, safe with many workers): repairs lost enqueues and dead workers.

- RUNNING jobs whose lease (or retry backoff) expired get their next attempt enqueued; at the
  last attempt they fail with `attempts_exhausted` (the worker died every time).
- QUEUED jobs older than a grace period are enqueued again; those past their `Cancel-After`
  deadline are cancelled instead (deadline_exceeded, refunded).
Either way an attempt already waiting on the queue is left alone, and one a worker took but never
claimed (it died in between) goes out again under a fresh queue id (see `jobs.queue`): a job is
running again within a lease plus a sweep, whichever attempt its worker died on.

One statement reads the candidates (under an advisory lock, so concurrent sweeps do not repeat
each other's work), one Lua round trip delivers them all; each exhausted job fails in its own
statement (a lock held up on one never holds up the others).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scripe_api.jobs import repository
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.jobs.lifecycle import Finished, announce_finished
from scripe_api.jobs.queue import Delivery, deliver
from scripe_api.observability.metrics import SWEEP_REPAIRS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    ran: bool
    requeued: int = 0
    retried: int = 0
    exhausted: int = 0
    # QUEUED jobs past their Cancel-After deadline, cancelled.
    expired: int = 0


async def sweep(deps: WorkerDeps) -> SweepReport:
    settings = deps.resources.settings
    database = deps.resources.database
    async with database.connection() as connection:
        expired = await repository.expire_overdue(connection, limit=settings.sweep_batch_size)
        candidates = await repository.sweep_candidates(
            connection, settings.sweep_batch_size, settings.sweep_queued_grace_seconds
        )
    deliveries: list[Delivery] = []
    finished = [Finished.of_job(row) for row in expired]
    retried = requeued = 0
    for job_id, attempt, status in candidates:
        if status == "QUEUED":
            deliveries.append(Delivery(job_id, 1))
            requeued += 1
        elif attempt < settings.job_max_attempts:
            deliveries.append(Delivery(job_id, attempt + 1))
            retried += 1
        else:
            try:
                async with database.connection() as connection:
                    row = await repository.fail_exhausted(connection, job_id, attempt)
            except Exception:
                logger.exception("sweep could not end %s; next sweep retries", job_id)
                continue
            if row is not None:
                finished.append(Finished.of_job(row))
    await deliver(deps.resources.redis, deliveries)
    await announce_finished(deps.resources.redis, finished)
    report = SweepReport(
        ran=True,
        requeued=requeued,
        retried=retried,
        exhausted=len(finished) - len(expired),
        expired=len(expired),
    )
    SWEEP_REPAIRS.labels(kind="requeued").inc(report.requeued)
    SWEEP_REPAIRS.labels(kind="retried").inc(report.retried)
    SWEEP_REPAIRS.labels(kind="exhausted").inc(report.exhausted)
    SWEEP_REPAIRS.labels(kind="expired").inc(report.expired)
    if retried or finished:
        logger.info("sweep: %s", report)
    return report
