"""The access hook that applies rate limits after scope checks (API.md §1.5 order)."""

from __future__ import annotations

from fastapi import Request

from scripe_api.api.access import RateBucket
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import RateLimited
from scripe_api.observability.metrics import RATE_LIMIT_REJECTIONS
from scripe_api.ratelimit.limiter import Decision, SlidingWindowLimiter
from scripe_api.settings import Settings


class RateLimitHook:
    def __init__(self, settings: Settings, limiter: SlidingWindowLimiter) -> None:
        self._settings = settings
        self._limiter = limiter

    def limit_for(self, plan: str, bucket: RateBucket) -> int:
        base = self._settings.rate_limits[bucket]
        return max(1, round(base * self._settings.rate_limit_plan_multipliers.get(plan, 1.0)))

    async def __call__(self, request: Request, principal: Principal, bucket: RateBucket) -> None:
        limit = self.limit_for(principal.plan, bucket)
        decision = await self._limiter.hit(principal.workspace_id, bucket, limit)
        if decision is None:
            # Failing open (Redis unreachable): nothing was counted, so the whole limit is
            # what the client may still use; the headers are on every authenticated response.
            decision = Decision(allowed=True, limit=limit, remaining=limit, reset_seconds=0)
        headers = decision.headers()
        request.state.response_headers.update(headers)
        if not decision.allowed:
            RATE_LIMIT_REJECTIONS.labels(bucket=bucket).inc()
            raise RateLimited(
                f"Rate limit of {limit} {bucket} requests per minute reached for this workspace; "
                f"retry in {decision.reset_seconds} s.",
                headers={"Retry-After": str(decision.reset_seconds), **headers},
            )
