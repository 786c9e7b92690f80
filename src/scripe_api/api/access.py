"""Who may call an operation: authentication → plan → scope → rate limit (API.md §1.5 order).

A route declares what it requires with `Access` (its scopes and rate bucket); the request
pipeline (`api.pipeline`) asks the `Gatekeeper` before it reads anything else of the request.
The `Access` dependency itself only declares the bearer scheme to OpenAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scripe_api.api.ratelimit import RateLimits
from scripe_api.auth.principal import Principal
from scripe_api.auth.service import Authenticator
from scripe_api.core.errors import PlanNotEligible, ScopeMissing

RateBucket = Literal["read", "write", "ai"]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="`Authorization: Bearer scripe_sk_live_…` (or `scripe_sk_test_…`).",
)

# A Redis key worth reading in the rate limiter's round trip, from the path parameters.
Prefetch = Callable[[Mapping[str, str]], str]


@dataclass(frozen=True)
class Access:
    """What a route requires: any one of `scopes` (empty: any valid key), a rate bucket, and
    optionally a Redis key read together with the rate limit (e.g. a job's progress)."""

    scopes: tuple[str, ...] = ()
    bucket: RateBucket = "read"
    prefetch: Prefetch | None = None

    async def __call__(
        self,
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    ) -> Principal:
        principal: Principal = request.state.principal
        return principal


@dataclass(frozen=True, slots=True)
class Admission:
    principal: Principal
    # The value of the `Access.prefetch` key (None: absent, or Redis did not answer).
    prefetched: bytes | None = None


@dataclass(frozen=True)
class Gatekeeper:
    authenticator: Authenticator
    limits: RateLimits
    api_plans: frozenset[str]

    async def admit(self, request: Request, access: Access) -> Admission:
        principal = await self.authenticator.authenticate(request.headers.get("authorization"))
        return await self.admit_principal(request, principal, access)

    async def admit_principal(
        self, request: Request, principal: Principal, access: Access
    ) -> Admission:
        """The checks after authentication (plan, scope, rate limit), for a principal found
        by `admit` or another way (an event-stream token's key)."""
        if principal.plan not in self.api_plans:
            raise PlanNotEligible(
                f"The {principal.plan} plan does not include API access; upgrade to "
                "ADVANCED or above."
            )
        if not principal.has_any_scope(access.scopes):
            raise ScopeMissing(
                f"This endpoint requires one of these scopes: {', '.join(access.scopes)}.",
                details={"required": list(access.scopes)},
            )
        # Later lines of this request's log name its workspace (see core.logging).
        request.state.principal = principal
        prefetch = access.prefetch(request.path_params) if access.prefetch else None
        headers, prefetched = await self.limits.admit(
            principal.workspace_id, principal.plan, access.bucket, prefetch
        )
        request.state.response_headers.update(headers)
        return Admission(principal, prefetched)
