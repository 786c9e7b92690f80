"""Finding a request's operation in one lookup.

FastAPI matches a request by walking its included routers (each a layer of scope bookkeeping)
route by route; for an API whose every request is one of a few dozen known templates that walk
cost more than the rest of a read. The table here is built once, from the same routes FastAPI
built (their effective, prefixed form), and answers: static paths by a dict lookup, templated
ones by their compiled regex. A request it cannot place with certainty (an unknown path, a
method no route takes, anything not HTTP) goes to FastAPI's router, which answers as before
(404, 405 with `Allow`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send


def route_path(scope: Scope) -> str:
    """The path as routes see it (without a mount's root path), like Starlette's routing."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path.removeprefix(root) if root and path.startswith(root) else path


def _direct(handler: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """An operation of the request pipeline as an ASGI app. FastAPI's `request_response` adds
    exit stacks for its dependency solver (not used by the pipeline) and a second layer of
    exception handling (the app's own catches the same errors one level up)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


@dataclass(frozen=True)
class _Entry:
    route: BaseRoute
    app: ASGIApp
    endpoint: Callable[..., Any] | None
    regex: re.Pattern[str]
    convertors: dict[str, Any]


class RouteTable:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._static: dict[tuple[str, str], _Entry] = {}
        self._templated: dict[str, list[_Entry]] = {}
        for context in iter_route_contexts(routes):
            route, path = context.original_route, context.path_format
            if not isinstance(route, APIRoute) or not path or not context.methods:
                continue
            pipeline = getattr(route, "pipeline", None)
            app = _direct(pipeline) if pipeline is not None else context.app
            entry = _Entry(
                route, app, context.endpoint, context.path_regex, context.param_convertors
            )
            for method in context.methods:
                if "{" not in path:
                    self._static.setdefault((method, path), entry)
                else:
                    # Registration order, as FastAPI matches them.
                    self._templated.setdefault(method, []).append(entry)

    def find(self, method: str, path: str) -> tuple[_Entry, dict[str, Any]] | None:
        entry = self._static.get((method, path))
        if entry is not None:
            return entry, {}
        for candidate in self._templated.get(method, ()):
            match = candidate.regex.match(path)
            if match is not None:
                params = {
                    key: candidate.convertors[key].convert(value)
                    for key, value in match.groupdict().items()
                }
                return candidate, params
        return None


def with_route_table(
    routes: Sequence[BaseRoute], fallback: ASGIApp
) -> Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]]:
    """An ASGI app dispatching through a `RouteTable` of `routes` (built at the first request,
    once every route exists), and to `fallback` for what the table cannot place."""
    table: RouteTable | None = None

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal table
        if scope["type"] == "http":
            if table is None:
                table = RouteTable(routes)
            found = table.find(scope["method"], route_path(scope))
            if found is not None:
                entry, params = found
                scope["path_params"] = params
                scope["route"] = entry.route
                scope["endpoint"] = entry.endpoint
                await entry.app(scope, receive, send)
                return
        await fallback(scope, receive, send)

    return dispatch
