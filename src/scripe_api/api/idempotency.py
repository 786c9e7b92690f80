"""Idempotency-Key at the HTTP edge (API.md §3): which requests carry a key, the request's
fingerprint, the replay of a recorded response, and running an operation once per key.

The pipeline calls this after validation, so the claim comes after authentication, rate
limiting and validation, and before the operation (§1.5). An operation's unit of work commits
the record with its own work; the live bytes are the recorded bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.routing import replace_params

from scripe_api.api.rendering import render, response_of
from scripe_api.core.canonical_json import canonical_json
from scripe_api.core.errors import AppError, error_body
from scripe_api.core.sealing import Sealer
from scripe_api.db.pool import Connection, Database
from scripe_api.db.transaction import UnitOfWork
from scripe_api.idempotency import service
from scripe_api.idempotency.errors import IdempotencyKeyConflict, IdempotencyKeyInUse
from scripe_api.idempotency.repository import RecordKey
from scripe_api.idempotency.service import Claim, KeyedRequest, Policy, StoredResponse
from scripe_api.jobs import deadlines

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_KEY = re.compile(KEY_PATTERN)
JSON = "application/json"


def keyed_request(request: Request, route: APIRoute, workspace_id: str) -> KeyedRequest | None:
    """The request's key and fingerprint, or None: no key, a malformed one (ignored as if
    absent), or a method that is not idempotency-keyed. Call after the body was read."""
    key = request.headers.get(KEY_HEADER)
    if request.method not in IDEMPOTENT_METHODS or key is None or not _KEY.fullmatch(key):
        return None
    scope = f"{request.method} {route_template(request, route)}"
    body = ""
    # Only a route that takes a body has one (a body sent to `cancel` means nothing).
    parsed = getattr(request.state, "parsed_body", None)
    if route.body_field is not None and parsed is not None:
        body = canonical_json(parsed)
    # A job's deadline is part of the request (EVENTS.md §3); without one, nothing is added
    # (as seconds: 5m and 300s are the same request; an unreadable value is refused later).
    deadline = request.headers.get(deadlines.HEADER)
    if deadline is not None:
        try:
            body += f"\n{deadlines.HEADER}: {deadlines.cancel_after_seconds(deadline)}"
        except AppError:
            body += f"\n{deadlines.HEADER}: {deadline}"
    return KeyedRequest(
        RecordKey(workspace_id, scope, key), service.fingerprint(request.url.path, body)
    )


SEALED_ATTRIBUTE = "__scripe_sealed_replay__"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def sealed_replay(endpoint: Endpoint) -> Endpoint:
    """Marks an operation whose response carries a secret (a webhook signing secret): its
    Idempotency-Key record keeps the response sealed with the server secret, never in clear."""
    setattr(endpoint, SEALED_ATTRIBUTE, True)
    return endpoint


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


def replay(request: Request, stored: StoredResponse) -> Response:
    request.state.response_headers[REPLAYED_HEADER] = "true"
    return response_of(stored)


def mark_first(request: Request) -> None:
    request.state.response_headers[REPLAYED_HEADER] = "false"


async def run_once(
    request: Request,
    database: Database,
    policy: Policy,
    keyed: KeyedRequest,
    uow: UnitOfWork,
    operation: Callable[[], Awaitable[Any]],
    *,
    route: APIRoute,
) -> Response:
    """Run `operation` at most once per key: replay a recorded response, or claim the key,
    run, and record the response with the operation's own commit."""
    outcome = await service.claim(database, policy, keyed.key, keyed.fingerprint)
    if isinstance(outcome, StoredResponse):
        return replay(request, outcome)
    mark_first(request)
    sealer = policy.sealer if getattr(route.endpoint, SEALED_ATTRIBUTE, False) else None
    run = _ClaimedRun(route, uow, outcome, database, request.state.request_id, sealer)
    return await run.execute(operation)


@dataclass
class _ClaimedRun:
    """One run of an operation under a claimed key: complete the record with the operation's
    commit, or settle it when the operation fails."""

    route: APIRoute
    uow: UnitOfWork
    claim: Claim
    database: Database
    request_id: str
    sealer: Sealer | None = None
    committed: StoredResponse | None = None
    committed_result: object = None

    async def execute(self, operation: Callable[[], Awaitable[Any]]) -> Response:
        self.uow.before_commit(self._record)
        try:
            result = await operation()
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
                return response_of(self.committed)
            await self._settle(error)
            raise
        if self.committed is not None and result is self.committed_result:
            return response_of(self.committed)
        return response_of(await render(self.route, result))

    async def _record(self, connection: Connection, result: object) -> None:
        response = await render(self.route, result)
        await service.complete(connection, self.claim, response, self.sealer)
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
            database = self.database
            if isinstance(error, AppError) and service.is_recorded(error):
                body = error_body(error, self.request_id)
                response = StoredResponse(error.status_code, body, {"Content-Type": JSON})
                await service.complete_alone(database, self.claim, response)
            else:
                await service.release(database, self.claim)
        except Exception:
            # The claim stays in flight; its lock expires and a retry takes it over.
            logger.exception("could not settle an Idempotency-Key claim")


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
