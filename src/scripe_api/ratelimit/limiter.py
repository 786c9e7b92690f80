"""Per-workspace rate limits: a sliding 60-second window per (workspace, bucket) in Redis.

One round trip per request (a Lua script over a sorted set of request timestamps, on Redis' own
clock so every API process agrees). If Redis is unreachable or slow the limiter fails open: the
request is served and the failure logged — rate limiting never blocks traffic.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.observability.metrics import RATE_LIMIT_FAIL_OPEN

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000

# KEYS[1]: the window's sorted set. ARGV: limit, window ms, a unique member suffix.
# Returns {allowed (0/1), remaining, ms until the oldest entry leaves the window}.
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
return {allowed, limit - count, reset}
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
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, workspace_id: str, bucket: str, limit: int) -> Decision | None:
        """Count one request; None when Redis could not answer (fail open)."""
        key = f"scripe:ratelimit:{workspace_id}:{bucket}"
        try:
            allowed, remaining, reset_ms = await self._script(
                keys=[key], args=[limit, WINDOW_MS, secrets.token_hex(6)]
            )
        except (RedisError, OSError) as error:
            logger.warning("rate limiter unavailable (%s); failing open", type(error).__name__)
            RATE_LIMIT_FAIL_OPEN.inc()
            return None
        return Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=int(remaining),
            reset_seconds=max(1, math.ceil(int(reset_ms) / 1000)) if reset_ms else 0,
        )
