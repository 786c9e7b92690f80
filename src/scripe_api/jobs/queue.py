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


def queue_job_id(job_id: str, attempt: int, *, redelivery: str | None = None) -> str:
    base = f"{job_id}:{attempt}"
    return base if redelivery is None else f"{base}:{redelivery}"


def in_progress_key(queue_id: str) -> str:
    """arq's marker of a queue entry a worker has taken (it outlives a killed worker)."""
    return f"arq:in-progress:{queue_id}"


async def enqueue_attempt(
    redis: ArqRedis,
    job_id: str,
    attempt: int,
    *,
    defer_seconds: float = 0.0,
    redelivery: str | None = None,
) -> bool:
    """True when the attempt is (now or already) on the queue; False when Redis failed."""
    try:
        await redis.enqueue_job(
            RUN_JOB,
            job_id,
            attempt,
            _job_id=queue_job_id(job_id, attempt, redelivery=redelivery),
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


async def taken_but_unclaimed(redis: ArqRedis, job_ids: list[str]) -> set[str]:
    """Of these QUEUED jobs, the ones a worker took off the queue and never claimed: it died in
    between. arq keeps their id locked until its own timeout, so they need a fresh queue id."""
    if not job_ids:
        return set()
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.exists(in_progress_key(queue_job_id(job_id, 1)))
            taken = await pipe.execute()
    except (RedisError, OSError):
        return set()
    return {job_id for job_id, is_taken in zip(job_ids, taken, strict=True) if is_taken}
