"""The sweep (an arq cron job, safe with many workers): repairs lost enqueues and dead workers.

- RUNNING jobs whose lease (or retry backoff) expired get their next attempt enqueued; at the
  last attempt they fail with `attempts_exhausted` (the worker died every time).
- QUEUED jobs older than a grace period are enqueued again (arq ignores an id it still holds).
One sweep runs at a time (a transaction-scoped advisory lock); enqueues happen after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from scripe_api.jobs import repository
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.jobs.notifications import publish_finished
from scripe_api.jobs.queue import enqueue_attempt, taken_but_unclaimed
from scripe_api.observability.metrics import SWEEP_REPAIRS, count_job_finished

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    ran: bool
    requeued: int = 0
    retried: int = 0
    exhausted: int = 0


async def sweep(deps: WorkerDeps) -> SweepReport:
    settings = deps.resources.settings
    to_enqueue: list[tuple[str, int]] = []
    finished: list[str] = []
    async with deps.resources.unit_of_work() as uow:
        if not await repository.try_sweep_lock(uow.session):
            return SweepReport(ran=False)
        for job_id, attempt in await repository.expired_running(
            uow.session, settings.sweep_batch_size
        ):
            if attempt < settings.job_max_attempts:
                to_enqueue.append((job_id, attempt + 1))
                continue
            failed = await repository.fail_exhausted(uow.session, job_id, attempt)
            if failed is not None:
                await deps.hooks.job_ended(uow.session, failed)
                uow.after_commit(count_job_finished(failed))
                finished.append(job_id)
        queued = await repository.stale_queued(
            uow.session,
            timedelta(seconds=settings.sweep_queued_grace_seconds),
            settings.sweep_batch_size,
        )
    retried = len(to_enqueue)
    redis = deps.resources.redis
    stuck = await taken_but_unclaimed(redis, list(queued))
    to_enqueue.extend((job_id, 1) for job_id in queued if job_id not in stuck)
    for job_id, attempt in to_enqueue:
        await enqueue_attempt(redis, job_id, attempt)
    for job_id in stuck:
        # Another queue id for the same attempt (arq dedups it while it waits, so a backlog
        # does not multiply it); the claim (QUEUED → RUNNING) still admits one winner.
        await enqueue_attempt(redis, job_id, 1, redelivery="redelivered")
    for job_id in finished:
        await publish_finished(deps.resources.redis, job_id)
    report = SweepReport(ran=True, requeued=len(queued), retried=retried, exhausted=len(finished))
    SWEEP_REPAIRS.labels(kind="requeued").inc(report.requeued)
    SWEEP_REPAIRS.labels(kind="retried").inc(report.retried)
    SWEEP_REPAIRS.labels(kind="exhausted").inc(report.exhausted)
    if retried or finished:
        logger.info("sweep: %s", report)
    return report
