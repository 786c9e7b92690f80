"""Rate limits at the HTTP edge: the headers on every authenticated response, and the 429."""

from __future__ import annotations

from scripe_api.core.errors import RateLimited
from scripe_api.observability.metrics import RATE_LIMIT_REJECTIONS
from scripe_api.ratelimit.limiter import Decision, SlidingWindowLimiter
from scripe_api.settings import Settings


class RateLimits:
    def __init__(self, settings: Settings, limiter: SlidingWindowLimiter) -> None:
        self._settings = settings
        self._limiter = limiter

    def limit_for(self, plan: str, bucket: str) -> int:
        base = self._settings.rate_limits[bucket]  # type: ignore[index]
        return max(1, round(base * self._settings.rate_limit_plan_multipliers.get(plan, 1.0)))

    async def admit(
        self, workspace_id: str, plan: str, bucket: str, prefetch: str | None
    ) -> tuple[dict[str, str], bytes | None]:
        """Count one request; its rate-limit headers, and the value of `prefetch` (a Redis key
        read in the same round trip). Raises `RateLimited` past the limit."""
        limit = self.limit_for(plan, bucket)
        decision, prefetched = await self._limiter.hit(workspace_id, bucket, limit, prefetch)
        if decision is None:
            # Failing open (Redis unreachable): nothing was counted, so the whole limit is
            # what the client may still use; the headers are on every authenticated response.
            decision = Decision(allowed=True, limit=limit, remaining=limit, reset_seconds=0)
        headers = decision.headers()
        if not decision.allowed:
            RATE_LIMIT_REJECTIONS.labels(bucket=bucket).inc()
            raise RateLimited(
                f"Rate limit of {limit} {bucket} requests per minute reached for this workspace; "
                f"retry in {decision.reset_seconds} s.",
                headers={"Retry-After": str(decision.reset_seconds), **headers},
            )
        return headers, prefetched
