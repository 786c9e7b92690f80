"""One renderer for every error: AppErrors, validation failures, HTTP errors and crashes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from scripe_api.api.routing import route_path
from scripe_api.core.errors import (
    AppError,
    BadPagination,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    error_body,
)
from scripe_api.db.errors import is_database_unavailable
from scripe_api.generations.schemas import SOURCE_TAGS
from scripe_api.settings import Settings

logger = logging.getLogger(__name__)

_ENUM_ERRORS = frozenset({"enum", "literal_error"})
_PAGINATION_PARAMS = frozenset({"limit"})
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def render(request: Request, error: AppError) -> Response:
    request_id = request.state.request_id
    return Response(
        content=error_body(error, request_id),
        status_code=error.status_code,
        media_type="application/json",
        headers=error.headers or None,
    )


def validation_error(errors: Sequence[Any]) -> AppError:
    """Map pydantic's errors to §1.5: enum misses in a body are 422, everything else 400."""
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    source, field_path = (loc[0], loc[1:]) if loc else ("body", [])
    if source == "body":
        # A tagged union's member names itself in the path: the client's field is the union.
        field_path = [part for part in field_path if part not in SOURCE_TAGS]
    field = ".".join(field_path) or source
    kind = first.get("type", "")
    if source == "query" and field_path[:1] and field_path[0] in _PAGINATION_PARAMS:
        return BadPagination()
    if source == "body" and kind in _ENUM_ERRORS:
        return Unprocessable(
            f"{field}: {first.get('msg', 'value not allowed')}.", details={"field": field}
        )
    if kind == "json_invalid":
        return InvalidRequest("The request body is not valid JSON.", details={"field": "body"})
    if kind == "extra_forbidden":
        message = f"Unknown field '{field}'."
    elif kind == "missing":
        message = (
            f"Missing required {'field' if source == 'body' else source + ' parameter'} '{field}'."
        )
    else:
        message = f"Invalid {field}: {first.get('msg', 'invalid value')}."
    return InvalidRequest(message, details={"field": field})


def install_error_handlers(app: FastAPI, settings: Settings) -> None:
    retry_after = str(settings.unavailable_retry_after_seconds)

    async def on_app_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, AppError)
        return render(request, error)

    async def on_validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return render(request, validation_error(error.errors()))

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404:
            return render(request, NotFound(f"No route for {request.url.path}."))
        if error.status_code == 405:
            allowed = _allowed_methods(request)
            return render(
                request,
                MethodNotAllowed(
                    f"{request.method} is not allowed here; use {', '.join(allowed)}.",
                    headers={"Allow": ", ".join(allowed)},
                ),
            )
        logger.warning("http error %s", error.status_code)
        return render(request, InvalidRequest(str(error.detail)))

    async def on_unexpected(request: Request, error: Exception) -> Response:
        if is_database_unavailable(error):
            logger.warning("database unavailable: %s", type(error).__name__)
            return render(request, ServiceUnavailable(headers={"Retry-After": retry_after}))
        logger.exception("internal error", extra={"request_id": request.state.request_id})
        return render(request, InternalError())

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the path the request names, as documented: every route on that path
    (Starlette names only the first match's), and when a fixed path and a template both match
    (`/v1/posts/generations` and `/v1/posts/{postId}`), the fixed path's only."""
    path = route_path(request.scope)
    matching = [
        (context.path_format.count("{"), context.methods)
        for context in iter_route_contexts(request.app.router.routes)
        if context.methods and context.path_format and context.path_regex.match(path)
    ]
    if not matching:
        return []
    fewest = min(parameters for parameters, _ in matching)
    methods = set().union(*(found for parameters, found in matching if parameters == fewest))
    return [method for method in _METHODS if method in methods]
