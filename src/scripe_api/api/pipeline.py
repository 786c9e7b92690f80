"""The request pipeline of every authenticated operation, in one place.

FastAPI routes the request and documents the operation (its signature, its response model);
this pipeline runs it, in the order of API.md §1.5:

1. admission: authentication → plan → scope → rate limit (`api.access.Gatekeeper`), before
   anything of the request is read (FastAPI would answer a malformed body before a missing
   key otherwise);
2. inputs: path, query and JSON body, validated against the operation's signature (400/422;
   a body sent in an alias form is first rewritten to its canonical one, see `_canonical_body`);
3. the Idempotency-Key of a POST or PATCH (`api.idempotency`): replay, conflict, in use — or
   run the operation once and record its response with its own commit;
4. the operation, with what it declared: its principal, the services, a unit of work (one
   transaction on the hot path's pool, committed before the response is sent), the key;
5. the response: a `Response` the operation built (hot paths render JSON straight from rows),
   or its model serialized like FastAPI would.

FastAPI's dependency solver is not run for these operations: the declared inputs are few and
known (see `Plan`), and solving them per request cost more than the rest of a read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from scripe_api.api import idempotency
from scripe_api.api.access import Access, Admission
from scripe_api.api.dependencies import (
    get_idempotency_key,
    get_prefetched,
    get_services,
    get_unit_of_work,
)
from scripe_api.api.rendering import respond
from scripe_api.api.state import Collaborators
from scripe_api.core.errors import InvalidRequest
from scripe_api.db.transaction import UnitOfWork

logger = logging.getLogger(__name__)

JSON = "application/json"
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _find_access(dependant: Dependant) -> Access | None:
    def walk(node: Dependant) -> Iterator[Any]:
        for child in node.dependencies:
            yield child.call
            yield from walk(child)

    return next((call for call in walk(dependant) if isinstance(call, Access)), None)


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == JSON or (kind.startswith("application/") and kind.endswith("+json"))


@dataclass(frozen=True)
class Plan:
    """What an operation declared, read once from its signature."""

    route: APIRoute
    access: Access
    principal: str | None
    services: str | None
    unit_of_work: str | None
    idempotency_key: str | None
    prefetched: str | None
    request: str | None
    plain_path: bool  # every path parameter is a plain string: no validation needed
    canonical_body: Callable[[Any], Any] | None  # see `_canonical_body`

    @classmethod
    def of(cls, route: APIRoute, access: Access) -> Plan:
        names: dict[str, str | None] = dict.fromkeys(
            ("principal", "services", "unit_of_work", "idempotency_key", "prefetched")
        )
        for dependency in route.dependant.dependencies:
            call = dependency.call
            if isinstance(call, Access):
                names["principal"] = dependency.name
            elif call is get_services:
                names["services"] = dependency.name
            elif call is get_unit_of_work:
                names["unit_of_work"] = dependency.name
            elif call is get_idempotency_key:
                names["idempotency_key"] = dependency.name
            elif call is get_prefetched:
                names["prefetched"] = dependency.name
            else:
                raise TypeError(f"{route.name}: unsupported dependency {call!r}")
        if route.dependant.header_params or route.dependant.cookie_params:
            raise TypeError(f"{route.name}: header and cookie parameters are not supported")
        plain_path = all(
            field.field_info.annotation is str for field in route.dependant.path_params
        )
        return cls(
            route=route,
            access=access,
            plain_path=plain_path,
            canonical_body=_canonical_body(route),
            request=route.dependant.request_param_name,
            **names,
        )

    @property
    def writes(self) -> bool:
        return self.unit_of_work is not None

    async def arguments(self, request: Request) -> dict[str, Any]:
        """The operation's path, query and body arguments, validated (400 otherwise)."""
        dependant = self.route.dependant
        errors: list[Any] = []
        if self.plain_path:
            values: dict[str, Any] = {
                field.name: request.path_params[field.alias] for field in dependant.path_params
            }
        else:
            values, path_errors = request_params_to_args(dependant.path_params, request.path_params)
            errors.extend(path_errors)
        if dependant.query_params:
            query, query_errors = request_params_to_args(
                dependant.query_params, request.query_params
            )
            values.update(query)
            errors.extend(query_errors)
        if errors:
            raise RequestValidationError(errors)
        field = self.route.body_field
        if field is not None:
            values[field.name] = await _body(request, field, self.canonical_body)
        return values


def _canonical_body(route: APIRoute) -> Callable[[Any], Any] | None:
    """The body model's `canonical_body(parsed) -> parsed`, when it declares one: a body may
    be sent in an alias form (INGEST.md §5), rewritten to the canonical form before it is
    validated and before the Idempotency-Key fingerprint is taken from it, so both spellings
    are one request. It raises `InvalidRequest` for a body mixing the forms."""
    field = route.body_field
    if field is None:
        return None
    hook: Callable[[Any], Any] | None = getattr(field.field_info.annotation, "canonical_body", None)
    return hook


async def _body(request: Request, field: Any, canonical_body: Callable[[Any], Any] | None) -> Any:
    raw = await request.body()
    parsed: Any = None
    if raw:
        if not _is_json(request.headers.get("content-type")):
            raise InvalidRequest(
                "Send the body as JSON with the header Content-Type: application/json.",
                details={"field": "body"},
            )
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
            raise InvalidRequest(
                "The request body is not valid JSON.", details={"field": "body"}
            ) from None
        if canonical_body is not None:
            parsed = canonical_body(parsed)
    request.state.parsed_body = parsed
    value, errors = field.validate(parsed if raw else None, {}, loc=("body",))
    if errors:
        raise RequestValidationError(errors)
    return value


def guarded_handler(plan: Plan) -> Handler:
    route = plan.route
    endpoint = route.dependant.call
    assert endpoint is not None

    async def handle(request: Request) -> Response:
        deps: Collaborators = request.app.state.pipeline
        admission: Admission = await deps.gatekeeper.admit(request, plan.access)
        principal = admission.principal
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s admitted: key %s (%s, plan %s)",
                route.name,
                principal.key_id,
                principal.mode,
                principal.plan,
            )
        values = await plan.arguments(request)
        if plan.principal is not None:
            values[plan.principal] = principal
        if plan.services is not None:
            values[plan.services] = request.app.state.services
        if plan.prefetched is not None:
            values[plan.prefetched] = admission.prefetched
        if plan.request is not None:
            values[plan.request] = request
        key = idempotency.keyed_request(request, route, principal.workspace_id)
        if plan.idempotency_key is not None:
            # The operation claims and completes its key itself, in its own statement.
            values[plan.idempotency_key] = key
        if not plan.writes:
            return await respond(route, await endpoint(**values))
        uow = UnitOfWork(deps.database, principal.workspace_id)
        values[plan.unit_of_work] = uow  # type: ignore[index]
        try:
            if key is not None and plan.idempotency_key is None:
                return await idempotency.run_once(
                    request,
                    deps.database,
                    deps.idempotency,
                    key,
                    uow,
                    lambda: endpoint(**values),
                    route=route,
                )
            result = await endpoint(**values)
            if not uow.is_committed:
                await uow.commit(result)
            return await respond(route, result)
        finally:
            await uow.rollback()

    return handle


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`: mappings merged key by key, lists joined (parameters)."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merged(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


class GuardedRoute(APIRoute):
    """An APIRoute whose operation runs through the pipeline when it requires `Access`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        if methods & idempotency.IDEMPOTENT_METHODS:
            documented = idempotency.openapi_extra(kwargs.get("status_code") or 200)
            kwargs["openapi_extra"] = _merged(documented, kwargs.get("openapi_extra") or {})
        super().__init__(path, endpoint, **kwargs)
        access = _find_access(self.dependant)
        if access is not None:
            # For clients and agents: the key needs any one of these (empty: any valid key).
            self.openapi_extra = {**(self.openapi_extra or {}), "x-scopes": list(access.scopes)}

    # The pipeline's handler, which the route table calls directly (see `api.routing`).
    pipeline: Handler | None = None

    def get_route_handler(self) -> Handler:
        access = _find_access(self.dependant)
        if access is None:
            return super().get_route_handler()
        self.pipeline = guarded_handler(Plan.of(self, access))
        return self.pipeline
