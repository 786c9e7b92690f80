"""Enqueueing job attempts on arq. Called only after the job row is committed.

The queue's job id is `{jobId}:{attempt}`: arq refuses a second enqueue of an id it still tracks
(and a killed worker's entry lingers), so each attempt gets its own id. A failed enqueue is logged
and left to the sweep, which re-enqueues from Postgres.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RUN_JOB = "run_job"


def queue_job_id(job_id: str, attempt: int) -> str:
    return f"{job_id}:{attempt}"


async def enqueue_attempt(
    redis: ArqRedis, job_id: str, attempt: int, *, defer_seconds: float = 0.0
) -> bool:
    """True when the attempt is (now or already) on the queue; False when Redis failed."""
    try:
        await redis.enqueue_job(
            RUN_JOB,
            job_id,
            attempt,
            _job_id=queue_job_id(job_id, attempt),
            _defer_by=defer_seconds if defer_seconds > 0 else None,
        )
    except (RedisError, OSError) as error:
        logger.warning(
            "enqueue of %s attempt %d failed (%s); the sweep will retry",
            job_id,
            attempt,
            type(error).__name__,
        )
        return False
    return True
