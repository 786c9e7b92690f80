"""Pure-ASGI middleware counting every HTTP response by method, route template and status.

It wraps `RequestContextMiddleware` (see `ScripeApp.build_middleware_stack`), so it sees the
status of every response, including the errors that middleware answers before routing and the
last-resort 500. The route label is the matched route's template (`/v1/jobs/{jobId}`), read from
`scope["route"]` once routing ran, never the raw path: ids in paths would make one series per job.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scripe_api.observability.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

UNMATCHED = "unmatched"
# Clients choose the method: anything else is one label, not one series per invented verb.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._routes = routes
        # id(route in scope["route"]) -> its full template; an included route only knows the
        # path relative to its router (`/jobs/{jobId}`), not the prefix it is mounted under.
        self._templates: dict[int, str] | None = None
        # Bounded: methods, route templates and statuses are closed sets.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when nothing was sent (the server answers 500)

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            counter, histogram = self._series(method, self._route_template(scope), status)
            counter.inc()
            histogram.observe(time.perf_counter() - started)

    def _series(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The labelled children of both metrics (looked up once per label set: `labels()`
        costs more than the increment)."""
        key = (method, route, status)
        series = self._children.get(key)
        if series is None:
            series = self._children[key] = (
                HTTP_REQUESTS.labels(method=method, route=route, status=str(status)),
                HTTP_REQUEST_DURATION.labels(method=method, route=route),
            )
        return series

    def _route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            # Built on the first request: routes are all added by then.
            self._templates = {
                id(context.original_route): context.path_format
                for context in iter_route_contexts(self._routes)
                if context.path_format is not None
            }
        template = self._templates.get(id(route)) or getattr(route, "path_format", None)
        return template if isinstance(template, str) else UNMATCHED
