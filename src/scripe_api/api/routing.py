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

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


# An app's exception handler, as Starlette keeps them (sync or async).
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


@dataclass(frozen=True)
class _Entry:
    route: BaseRoute
    app: ASGIApp
    endpoint: Callable[..., Any] | None
    regex: re.Pattern[str]
    convertors: dict[str, Any]
    is_pipeline: bool


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
                route,
                app,
                context.endpoint,
                context.path_regex,
                context.param_convertors,
                is_pipeline=pipeline is not None,
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


class Dispatch:
    """An ASGI app dispatching through a `RouteTable` of `routes` (built at the first request,
    once every route exists), and to `fallback` for what the table cannot place."""

    def __init__(self, routes: Sequence[BaseRoute], fallback: ASGIApp) -> None:
        self._routes = routes
        self._table: RouteTable | None = None
        self.fallback = fallback

    def find(self, scope: Scope) -> tuple[_Entry, dict[str, Any]] | None:
        """The operation of an HTTP request, with `scope` set up as routing would."""
        if self._table is None:
            self._table = RouteTable(self._routes)
        found = self._table.find(scope["method"], route_path(scope))
        if found is not None:
            entry, params = found
            scope["path_params"] = params
            scope["route"] = entry.route
            scope["endpoint"] = entry.endpoint
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (found := self.find(scope)) is not None:
            await found[0].app(scope, receive, send)
            return
        await self.fallback(scope, receive, send)


class PipelineShortcut:
    """The request pipeline's operations (every authenticated one), straight from the request
    context middleware: past Starlette's and FastAPI's own layers (server-error, exception and
    exit-stack middleware, the OpenTelemetry hook), which those operations do not use. Their
    errors are rendered here by the app's same exception handlers, as those layers would.
    Everything else goes through the whole stack, `app`."""

    def __init__(
        self,
        app: ASGIApp,
        dispatch: Dispatch,
        owner: ASGIApp,
        handlers: Mapping[Any, Handler],
    ) -> None:
        self.app = app
        self.dispatch = dispatch
        self.owner = owner
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.dispatch.find(scope)
        if found is None or not found[0].is_pipeline:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.owner
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await found[0].app(scope, receive, tracked)
        except Exception as error:
            if started:
                raise  # as Starlette: nothing more can be said on this response
            handler = self._handler(error)
            rendered = handler(Request(scope, receive), error)
            response = await rendered if inspect.isawaitable(rendered) else rendered
            await response(scope, receive, send)
            if handler is self.handlers.get(Exception):
                raise  # as Starlette's server-error layer: the server sees the failure too

    def _handler(self, error: Exception) -> Handler:
        for kind in type(error).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None:
                return handler
        raise error
