"""Access control as one mechanism: authentication → plan → scope → rate limit, before validation.

FastAPI parses a JSON body before it runs any dependency, which would answer a malformed body
with 400 before a missing key's 401. The order of checks in API.md §1.5 puts authentication
first, so `GuardedRoute` runs the route's `Access` requirement before FastAPI's own handler
parses anything; the `Access` dependency then only hands the checked principal to the handler
(and declares the bearer scheme in OpenAPI).

The same route class makes every POST and PATCH idempotency-keyed (API.md §3): see
`scripe_api.idempotency.endpoint`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import PlanNotEligible, ScopeMissing
from scripe_api.idempotency.endpoint import (
    IDEMPOTENT_METHODS,
    idempotent,
    keyed,
    openapi_extra,
    record_key,
)

if TYPE_CHECKING:
    from scripe_api.api.state import Services

RateBucket = Literal["read", "write", "ai"]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="`Authorization: Bearer scripe_sk_live_…` (or `scripe_sk_test_…`).",
)


class AccessHook(Protocol):
    """A check that runs after scope checks (the rate limiter plugs in here)."""

    async def __call__(self, request: Request, principal: Principal, bucket: RateBucket) -> None:
        """Raise an AppError to refuse the request."""


@dataclass(frozen=True)
class Access:
    """What a route requires: any one of `scopes` (empty: any valid key), and a rate bucket."""

    scopes: tuple[str, ...] = ()
    bucket: RateBucket = "read"

    async def __call__(
        self,
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    ) -> Principal:
        principal: Principal = request.state.principal
        return principal

    async def check(self, request: Request) -> Principal:
        services: Services = request.app.state.services
        principal = await services.authenticator.authenticate(request.headers.get("authorization"))
        if principal.plan not in services.settings.api_plans:
            raise PlanNotEligible(
                f"The {principal.plan} plan does not include API access; upgrade to "
                "ADVANCED or above."
            )
        if not principal.has_any_scope(self.scopes):
            raise ScopeMissing(
                f"This endpoint requires one of these scopes: {', '.join(self.scopes)}.",
                details={"required": list(self.scopes)},
            )
        hook: AccessHook
        for hook in services.access_hooks:
            await hook(request, principal, self.bucket)
        request.state.principal = principal
        return principal


def _find_access(dependant: Dependant) -> Access | None:
    def walk(node: Dependant) -> Iterator[Any]:
        for child in node.dependencies:
            yield child.call
            yield from walk(child)

    return next((call for call in walk(dependant) if isinstance(call, Access)), None)


class GuardedRoute(APIRoute):
    """An APIRoute that enforces its `Access` requirement before the body is parsed, and
    runs a POST or PATCH at most once per Idempotency-Key."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        self.is_idempotent = bool(methods & IDEMPOTENT_METHODS)
        if self.is_idempotent:
            endpoint = idempotent(endpoint)
            documented = openapi_extra(kwargs.get("status_code") or 200)
            kwargs["openapi_extra"] = {**documented, **(kwargs.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **kwargs)
        access = _find_access(self.dependant)
        if access is not None:
            # For clients and agents: the key needs any one of these (empty: any valid key).
            self.openapi_extra = {**(self.openapi_extra or {}), "x-scopes": list(access.scopes)}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        access = _find_access(self.dependant)
        if access is None:
            return handler

        async def guarded(request: Request) -> Response:
            principal = await access.check(request)
            key = record_key(request, self, principal.workspace_id) if self.is_idempotent else None
            if key is None:
                return await handler(request)
            with keyed(request, self, key):
                return await handler(request)

        return guarded
