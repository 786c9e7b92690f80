"""Enqueueing job attempts on arq. Called only after the job row is committed.

The queue's job id is `{jobId}:{attempt}`: arq refuses a second enqueue of an id it still tracks
(and a killed worker's entry lingers), so each attempt gets its own id. A failed enqueue is logged
and left to the sweep, which re-enqueues from Postgres.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import cast

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RUN_JOB = "run_job"
QUEUE_NAME = "arq:queue"
IN_PROGRESS_PREFIX = "arq:in-progress:"

# Entries due now that no worker has taken. arq keeps an entry in the queue while it runs, and
# takes entries oldest first, so the taken ones sit at the head: only the first ARGV[3] due
# entries are checked for an in-progress marker (bounded work on a huge queue, one round trip).
_WAITING_SCRIPT = """
local due = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
local head = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local taken = 0
for _, id in ipairs(head) do
  if redis.call('EXISTS', ARGV[2] .. id) == 1 then taken = taken + 1 end
end
return due - taken
"""
_HEAD_CHECKED = 1000


def queue_job_id(job_id: str, attempt: int, *, redelivery: str | None = None) -> str:
    base = f"{job_id}:{attempt}"
    return base if redelivery is None else f"{base}:{redelivery}"


def in_progress_key(queue_id: str) -> str:
    """arq's marker of a queue entry a worker has taken (it outlives a killed worker)."""
    return f"{IN_PROGRESS_PREFIX}{queue_id}"


async def waiting_depth(redis: Redis) -> int:
    """Queue entries due now and not yet taken by a worker (deferred retries and the next cron
    runs are not waiting; running attempts are not either)."""
    due_ms = int(time.time() * 1000)
    script = cast(
        "Awaitable[int]",
        redis.eval(
            _WAITING_SCRIPT, 1, QUEUE_NAME, str(due_ms), IN_PROGRESS_PREFIX, str(_HEAD_CHECKED)
        ),
    )
    return int(await script)


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
