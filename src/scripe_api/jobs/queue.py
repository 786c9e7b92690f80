"""Putting job attempts on arq's queue. Called only after the job row is committed.

The queue's job id is `{jobId}:{attempt}`: arq refuses a second enqueue of an id it still tracks
(and a killed worker's entry lingers), so each attempt gets its own id. Every enqueue — the
submit's, a retry's, the sweep's repairs — is one round trip: a Lua script that writes exactly
what arq's `enqueue_job` writes (the pickled job under `arq:job:<id>` with arq's expiry, and the
id in the `arq:queue` sorted set scored by the time it is due), for a whole batch at once.

The same script redelivers an entry a worker took off the queue and never claimed (it died in
between): arq keeps that id "in progress" until its own timeout (the job timeout + 10 s), so the
attempt goes out again under a fresh id, `{jobId}:{attempt}:r{n}`, whatever the attempt. Which
id is current is kept in Redis beside the queue (emptied together, they start over at the plain
id). A duplicate delivery is harmless: a claim that does not match does nothing.

A failed enqueue is logged and left to the sweep, which enqueues again from Postgres.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from arq.constants import (
    default_queue_name,
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.core.batching import Coalescer
from scripe_api.core.redis_scripts import run_script, script_sha

logger = logging.getLogger(__name__)

RUN_JOB = "run_job"
QUEUE_NAME = default_queue_name
IN_PROGRESS_PREFIX = in_progress_key_prefix
# The current redelivery number of an attempt (absent: the plain id is current).
REDELIVERY_PREFIX = "scripe:redelivery:"
# Longer than any attempt can wait on the queue (arq's own entries expire after a day).
_REDELIVERY_TTL_SECONDS = 2 * 86_400

# ARGV: queue, job key prefix, in-progress prefix, result prefix, redelivery prefix, its TTL,
# then per attempt: its plain id, its score (ms), its job key's expiry (ms), the pickled job.
# Returns how many entries were written.
_DELIVER = """
local queue, job_prefix, taken_prefix, result_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local counter_prefix, counter_ttl = ARGV[5], ARGV[6]
local written = 0
for i = 7, #ARGV, 4 do
  local plain = ARGV[i]
  local counter = counter_prefix .. plain
  local n = tonumber(redis.call('GET', counter) or '0')
  local id = plain
  if n > 0 then id = plain .. ':r' .. n end
  if redis.call('EXISTS', taken_prefix .. id) == 1 then
    -- Taken by a worker, and the attempt is still unclaimed: go out again under a new id.
    n = n + 1
    redis.call('SET', counter, n, 'EX', counter_ttl)
    id = plain .. ':r' .. n
  elseif redis.call('EXISTS', job_prefix .. id, result_prefix .. id) > 0 then
    -- Waiting on the queue already (arq would refuse the id too).
    id = nil
  end
  if id then
    redis.call('PSETEX', job_prefix .. id, ARGV[i + 2], ARGV[i + 3])
    redis.call('ZADD', queue, ARGV[i + 1], id)
    written = written + 1
  end
end
return written
"""

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


_DELIVER_SHA = script_sha(_DELIVER)


# What arq's worker does to take one entry (WATCH the in-progress key, EXISTS, ZSCORE, MULTI,
# PSETEX, EXEC: four round trips), for a whole poll's entries in one script: an entry is taken
# when no worker holds it and it is due; the in-progress marker is set as arq sets it.
# ARGV: queue, in-progress prefix, now (ms), marker TTL (ms), how many to take, then the ids.
# Returns id, score, id, score… of the entries taken.
_TAKE = """
local queue, prefix, ttl = ARGV[1], ARGV[2], ARGV[4]
local now, limit = tonumber(ARGV[3]), tonumber(ARGV[5])
local taken = {}
for i = 6, #ARGV do
  if #taken >= 2 * limit then break end
  local id = ARGV[i]
  if redis.call('EXISTS', prefix .. id) == 0 then
    local score = redis.call('ZSCORE', queue, id)
    if score and tonumber(score) <= now then
      redis.call('PSETEX', prefix .. id, ttl, '1')
      taken[#taken + 1] = id
      taken[#taken + 1] = score
    end
  end
end
return taken
"""
_TAKE_SHA = script_sha(_TAKE)


async def take_due(
    redis: Redis, queue_ids: Sequence[bytes], limit: int, in_progress_ms: int
) -> list[tuple[str, int]]:
    """Take up to `limit` of `queue_ids` for this worker, as arq's worker takes each entry, in
    one round trip: (queue id, score) of each entry taken."""
    if not queue_ids or limit <= 0:
        return []
    now_ms = round(time.time() * 1000)
    answer = await run_script(
        redis,
        _TAKE,
        _TAKE_SHA,
        0,
        QUEUE_NAME,
        IN_PROGRESS_PREFIX,
        now_ms,
        in_progress_ms,
        limit,
        *queue_ids,
    )
    flat = cast("list[bytes]", answer)
    return [(flat[i].decode(), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Attempt `attempt` of `job_id`, due `defer_seconds` from now."""

    job_id: str
    attempt: int
    defer_seconds: float = 0.0


def queue_job_id(job_id: str, attempt: int) -> str:
    return f"{job_id}:{attempt}"


def in_progress_key(queue_id: str) -> str:
    """arq's marker of a queue entry a worker has taken (it outlives a killed worker)."""
    return f"{IN_PROGRESS_PREFIX}{queue_id}"


def _arguments(deliveries: Sequence[Delivery]) -> list[Any]:
    now_ms = round(time.time() * 1000)
    arguments: list[Any] = [
        QUEUE_NAME,
        job_key_prefix,
        in_progress_key_prefix,
        result_key_prefix,
        REDELIVERY_PREFIX,
        _REDELIVERY_TTL_SECONDS,
    ]
    for delivery in deliveries:
        defer_ms = round(delivery.defer_seconds * 1000) if delivery.defer_seconds > 0 else 0
        # As arq's enqueue_job: the job expires a day after it is due.
        payload = serialize_job(RUN_JOB, (delivery.job_id, delivery.attempt), {}, None, now_ms)
        arguments.extend(
            [
                queue_job_id(delivery.job_id, delivery.attempt),
                now_ms + defer_ms,
                defer_ms + expires_extra_ms,
                payload,
            ]
        )
    return arguments


async def deliver(redis: Redis, deliveries: Sequence[Delivery]) -> int | None:
    """Make sure each attempt is on the queue (see the module docstring), in one round trip.
    How many entries were written; None when Redis failed (the sweep tries again)."""
    if not deliveries:
        return 0
    try:
        written = await run_script(redis, _DELIVER, _DELIVER_SHA, 0, *_arguments(deliveries))
    except (RedisError, OSError) as error:
        logger.warning(
            "enqueue of %d attempts failed (%s); the sweep will retry",
            len(deliveries),
            type(error).__name__,
        )
        return None
    return int(cast(int, written))


class Queue:
    """The queue on one Redis client, for a process's lifetime: deliveries made while another
    is on its way go together in the next round trip (`core.batching`)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._deliveries: Coalescer[Delivery, bool] = Coalescer(self._deliver_batch)

    async def deliver(self, delivery: Delivery) -> bool:
        """True when the attempt is on the queue; False when Redis failed (the sweep tries
        again)."""
        return await self._deliveries(delivery)

    async def _deliver_batch(self, deliveries: Sequence[Delivery]) -> list[bool]:
        written = await deliver(self.redis, deliveries)
        return [written is not None] * len(deliveries)


async def enqueue_attempt(
    redis: Redis, job_id: str, attempt: int, *, defer_seconds: float = 0.0
) -> bool:
    """True when the attempt is (now or already) on the queue; False when Redis failed."""
    return await deliver(redis, [Delivery(job_id, attempt, defer_seconds)]) is not None


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
