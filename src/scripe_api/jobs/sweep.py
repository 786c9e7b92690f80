"""The sweep (an arq cron job, safe with many workers): repairs lost enqueues and dead workers.

- RUNNING jobs whose lease (or retry backoff) expired get their next attempt enqueued; at the
  last attempt they fail with `attempts_exhausted` (the worker died every time).
- QUEUED jobs older than a grace period are enqueued again.
Either way an attempt already waiting on the queue is left alone, and one a worker took but never
claimed (it died in between) goes out again under a fresh queue id (see `jobs.queue`): a job is
running again within a lease plus a sweep, whichever attempt its worker died on.
One sweep runs at a time (a transaction-scoped advisory lock); enqueues happen after commit, all
in one round trip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from scripe_api.jobs import repository
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.jobs.notifications import publish_finished
from scripe_api.jobs.queue import Delivery, deliver
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
    to_enqueue: list[Delivery] = []
    finished: list[str] = []
    async with deps.resources.unit_of_work() as uow:
        if not await repository.try_sweep_lock(uow.session):
            return SweepReport(ran=False)
        for job_id, attempt in await repository.expired_running(
            uow.session, settings.sweep_batch_size
        ):
            if attempt < settings.job_max_attempts:
                to_enqueue.append(Delivery(job_id, attempt + 1))
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
    to_enqueue.extend(Delivery(job_id, 1) for job_id in queued)
    await deliver(redis, to_enqueue)
    for job_id in finished:
        await publish_finished(deps.resources.redis, job_id)
    report = SweepReport(ran=True, requeued=len(queued), retried=retried, exhausted=len(finished))
    SWEEP_REPAIRS.labels(kind="requeued").inc(report.requeued)
    SWEEP_REPAIRS.labels(kind="retried").inc(report.retried)
    SWEEP_REPAIRS.labels(kind="exhausted").inc(report.exhausted)
    if retried or finished:
        logger.info("sweep: %s", report)
    return report
