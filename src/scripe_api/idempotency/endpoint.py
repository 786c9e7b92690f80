"""Idempotency at the HTTP edge: one wrapper around every POST and PATCH endpoint.

`GuardedRoute` wraps the endpoint with `idempotent` and, once access is checked, marks the
request with its key (`keyed`). FastAPI only calls the endpoint once the request is valid, so
the claim comes after authentication, rate limiting and validation, and before the operation
(API.md §1.5). The operation's unit of work commits the record with it (`before_commit`); the
wrapper renders the response itself, so the live bytes are the recorded bytes.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, serialize_response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import replace_params

from scripe_api.core.canonical_json import canonical_json
from scripe_api.core.errors import AppError, error_body
from scripe_api.db.session import UnitOfWork
from scripe_api.idempotency import service
from scripe_api.idempotency.errors import IdempotencyKeyConflict, IdempotencyKeyInUse
from scripe_api.idempotency.repository import RecordKey
from scripe_api.idempotency.service import Claim, Policy, StoredResponse

if TYPE_CHECKING:
    from scripe_api.api.state import Services

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_KEY = re.compile(KEY_PATTERN)
_REPLAYED_HEADERS = ("Location", "Content-Type")
JSON = "application/json"

Endpoint = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class KeyedRequest:
    request: Request
    route: APIRoute
    key: RecordKey


_keyed: ContextVar[KeyedRequest | None] = ContextVar("scripe_keyed_request", default=None)


def record_key(request: Request, route: APIRoute, workspace_id: str) -> RecordKey | None:
    """The request's record key, or None: no key, a malformed one (ignored as if absent), or
    a method that is not idempotency-keyed."""
    key = request.headers.get(KEY_HEADER)
    if request.method not in IDEMPOTENT_METHODS or key is None or not _KEY.fullmatch(key):
        return None
    return RecordKey(workspace_id, f"{request.method} {route_template(request, route)}", key)


def route_template(request: Request, route: APIRoute) -> str:
    """The route's path template with the prefixes it was included under ("/v1/posts/{postId}").

    A route included in a router keeps its own `path_format`; the prefix is what the concrete
    path has before the route's own part.
    """
    own_path, _ = replace_params(
        route.path_format, route.param_convertors, dict(request.path_params)
    )
    path: str = request.scope["path"]
    prefix = path.removesuffix(own_path) if path.endswith(own_path) else ""
    return prefix + route.path_format


@contextmanager
def keyed(request: Request, route: APIRoute, key: RecordKey) -> Iterator[None]:
    """Within this block, the route's endpoint runs at most once per key (see `idempotent`)."""
    token = _keyed.set(KeyedRequest(request, route, key))
    try:
        yield
    finally:
        _keyed.reset(token)


def idempotent(endpoint: Endpoint) -> Endpoint:
    """`endpoint`, claiming the request's Idempotency-Key first when it carries one.

    FastAPI reads the parameters through `functools.wraps`, so the signature is unchanged.
    """

    @functools.wraps(endpoint)
    async def run(**values: Any) -> Any:
        keyed_request = _keyed.get()
        if keyed_request is None:
            return await endpoint(**values)
        return await _run_once(keyed_request, endpoint, values)

    return run


async def _run_once(keyed_request: KeyedRequest, endpoint: Endpoint, values: dict[str, Any]) -> Any:
    request, route = keyed_request.request, keyed_request.route
    services: Services = request.app.state.services
    uow = next((value for value in values.values() if isinstance(value, UnitOfWork)), None)
    if uow is None:
        raise TypeError(f"{route.name}: an idempotent route must declare a UnitOfWorkDep")
    sessionmaker = services.resources.sessionmaker
    outcome = await service.claim(
        sessionmaker,
        Policy.from_settings(services.settings),
        keyed_request.key,
        await _fingerprint(request, route),
    )
    response_headers: dict[str, str] = request.state.response_headers
    if isinstance(outcome, StoredResponse):
        response_headers[REPLAYED_HEADER] = "true"
        return _response(outcome)
    response_headers[REPLAYED_HEADER] = "false"
    run = _ClaimedRun(route, uow, outcome, sessionmaker, request.state.request_id)
    return await run.execute(endpoint, values)


@dataclass
class _ClaimedRun:
    """One run of an endpoint under a claimed key: complete the record with the operation's
    commit, or settle it when the operation fails."""

    route: APIRoute
    uow: UnitOfWork
    claim: Claim
    sessionmaker: async_sessionmaker[AsyncSession]
    request_id: str
    committed: StoredResponse | None = None
    committed_result: object = None

    async def execute(self, endpoint: Endpoint, values: dict[str, Any]) -> Response:
        self.uow.before_commit(self._record)
        try:
            result = await endpoint(**values)
            if not self.uow.is_committed:
                await self.uow.commit(result)
        except Exception as error:  # a cancellation settles nothing: the lock just expires
            if self.committed is not None and self.uow.is_committed:
                # The key is never released once the work is durable: whatever failed
                # afterwards (a Redis error during a sync wait), the client gets the committed
                # response.
                logger.warning(
                    "failed after commit; answering the committed response", exc_info=True
                )
                return _response(self.committed)
            await self._settle(error)
            raise
        if self.committed is not None and result is self.committed_result:
            return _response(self.committed)
        return _response(await _render(self.route, result))

    async def _record(self, result: object) -> None:
        response = await _render(self.route, result)
        await service.complete(self.uow.session, self.claim, response)
        self.committed, self.committed_result = response, result

    async def _settle(self, error: Exception) -> None:
        """Record an error that is the request's own outcome; release the claim otherwise."""
        if isinstance(error, IdempotencyKeyConflict | IdempotencyKeyInUse):
            return  # the claim is no longer this request's
        try:
            # The operation's work is rolled back first, and its connection goes back to the
            # pool: a request never holds two pooled connections at once (with every
            # connection held by a request waiting for a second one, none would ever return).
            await self.uow.rollback()
            if isinstance(error, AppError) and service.is_recorded(error):
                body = error_body(error, self.request_id)
                response = StoredResponse(error.status_code, body, {"Content-Type": JSON})
                await service.complete_alone(self.sessionmaker, self.claim, response)
            else:
                await service.release(self.sessionmaker, self.claim)
        except Exception:
            # The claim stays in flight; its lock expires and a retry takes it over.
            logger.exception("could not settle an Idempotency-Key claim")


async def _fingerprint(request: Request, route: APIRoute) -> bytes:
    body = ""
    # Only a route that takes a body reads one (a body sent to `cancel` means nothing).
    if route.body_field is not None and await request.body():
        body = canonical_json(await request.json())
    return service.fingerprint(request.url.path, body)


async def _render(route: APIRoute, result: object) -> StoredResponse:
    """`result` as FastAPI would send it for `route`."""
    if isinstance(result, Response):
        headers = {
            name: result.headers[name] for name in _REPLAYED_HEADERS if name in result.headers
        }
        return StoredResponse(result.status_code, bytes(result.body), headers)
    status = route.status_code or 200
    is_default_class = isinstance(route.response_class, DefaultPlaceholder)
    content = await serialize_response(
        field=route.response_field,
        response_content=result,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        dump_json=route.response_field is not None and is_default_class,
    )
    if isinstance(content, bytes):
        return StoredResponse(status, content, {"Content-Type": JSON})
    response_class: type[Response] = (
        route.response_class.value
        if isinstance(route.response_class, DefaultPlaceholder)
        else route.response_class
    )
    rendered = response_class(content, status_code=status)
    return StoredResponse(
        status, bytes(rendered.body), {"Content-Type": rendered.media_type or JSON}
    )


def _response(stored: StoredResponse) -> Response:
    headers = {name: value for name, value in stored.headers.items() if name != "Content-Type"}
    return Response(
        content=stored.body,
        status_code=stored.status,
        headers=headers,
        media_type=stored.headers.get("Content-Type"),
    )


def openapi_extra(status_code: int) -> dict[str, Any]:
    """The request and response headers of an idempotency-keyed operation, for OpenAPI."""
    return {
        "parameters": [
            {
                "name": KEY_HEADER,
                "in": "header",
                "required": False,
                "description": (
                    f"Makes a retry safe: 1–64 characters matching `{KEY_PATTERN}` (any other "
                    "value is ignored as if absent). The same key with the same request within "
                    "24 h replays the first response (`Idempotent-Replayed: true`); with another "
                    "body or path it is a `409 idempotency_key_conflict`, and while the first "
                    "is still running a `409 idempotency_key_in_use` (`Retry-After: 1`)."
                ),
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            str(status_code): {
                "headers": {
                    REPLAYED_HEADER: {
                        "description": "Sent when the request carried an `Idempotency-Key`: "
                        "`true` when this is the recorded response of an earlier request.",
                        "schema": {"type": "string", "enum": ["true", "false"]},
                    }
                }
            }
        },
    }
