"""Per-workspace rate limits: a sliding 60-second window per (workspace, bucket) in Redis.

One round trip per request (a Lua script over a sorted set of request timestamps, on Redis' own
clock so every API process agrees), which also reads one key the request will need (a job's
progress snapshot) so that needs no round trip of its own. If Redis is unreachable or slow the
limiter fails open: the request is served and the failure logged — rate limiting never blocks
traffic.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.core.redis_scripts import run_script, script_sha
from scripe_api.observability.metrics import RATE_LIMIT_FAIL_OPEN

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000

# KEYS[1]: the window's sorted set; KEYS[2], optional: a key to read in the same round trip.
# ARGV: limit, window ms, a unique member suffix.
# Returns {allowed (0/1), remaining, ms until the oldest entry leaves the window, KEYS[2]'s value}.
_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now_ms, now_ms .. '-' .. ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = tonumber(oldest[2]) + window - now_ms
end
local peeked = false
if KEYS[2] then peeked = redis.call('GET', KEYS[2]) end
return {allowed, limit - count, reset, peeked}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


class SlidingWindowLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def hit(
        self, workspace_id: str, bucket: str, limit: int, prefetch: str | None = None
    ) -> tuple[Decision | None, bytes | None]:
        """Count one request, and read `prefetch`; (None, None) when Redis could not answer
        (fail open)."""
        keys = [f"scripe:ratelimit:{workspace_id}:{bucket}"]
        if prefetch is not None:
            keys.append(prefetch)
        try:
            answer = await run_script(
                self._redis,
                _SLIDING_WINDOW,
                _SLIDING_WINDOW_SHA,
                len(keys),
                *keys,
                limit,
                WINDOW_MS,
                # The hit's member in the window: unique enough within 60 s, and cheaper than
                # the system's randomness (random reseeds itself in forked children).
                f"{random.getrandbits(48):012x}",
            )
        except (RedisError, OSError) as error:
            logger.warning("rate limiter unavailable (%s); failing open", type(error).__name__)
            RATE_LIMIT_FAIL_OPEN.inc()
            return None, None
        allowed, remaining, reset_ms, peeked = cast("list[Any]", answer)
        decision = Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=int(remaining),
            reset_seconds=max(1, math.ceil(int(reset_ms) / 1000)) if reset_ms else 0,
        )
        # Lua's false comes back as None.
        return decision, peeked if isinstance(peeked, bytes) else None


_SLIDING_WINDOW_SHA = script_sha(_SLIDING_WINDOW)
