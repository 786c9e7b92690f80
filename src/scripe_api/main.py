"""The ASGI app: `create_app(settings)` wires middleware, routers, error handlers, lifespan."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from scripe_api.api.docs_page import install_docs
from scripe_api.api.error_handlers import install_error_handlers
from scripe_api.api.middleware.metrics import MetricsMiddleware
from scripe_api.api.middleware.request_context import RequestContextMiddleware
from scripe_api.api.openapi import install_openapi
from scripe_api.api.router import include_routers
from scripe_api.api.routing import Dispatch, PipelineShortcut
from scripe_api.api.state import Services
from scripe_api.core.release import release
from scripe_api.observability.routes import include_metrics
from scripe_api.resources import Resources
from scripe_api.settings import Settings

DESCRIPTION = """\
Submit AI work (`POST /v1/posts/generations`), get back a Job, and poll `GET /v1/jobs/{jobId}`
until it is DONE, FAILED or CANCELLED. Authenticate with `Authorization: Bearer scripe_sk_…`;
pin the API version with `Scripe-Api-Version` (the versions this server accepts are in
`info.x-api-versions`, newest first; `info.version` is the server's release). Errors share one
envelope:
`{"error": {"code", "message", "request_id", "docs_url", "details"?, "meta"?}}`.
"""


def _on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run `callback` on the loop as soon as SIGINT/SIGTERM arrives, then the server's own
    handler. The server only runs the lifespan's shutdown after in-flight requests finish, and
    waiting requests (wait_for_completion_ms) must be answered at once instead."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if not callable(handler):
            continue
        previous[sig] = handler

        def chained(signum: int, frame: FrameType | None, handler: Any = handler) -> None:
            loop.call_soon_threadsafe(callback)
            handler(signum, frame)

        signal.signal(sig, chained)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


class ScripeApp(FastAPI):
    """FastAPI with `RequestContextMiddleware` outside Starlette's own error middleware, and
    `MetricsMiddleware` outside both (so it counts the responses they send)."""

    settings: Settings
    dispatch: Dispatch
    # Whether FastAPI's OpenTelemetry hook has a provider to report to, as settled at startup
    # (providers are configured then); None before. FastAPI asks on every request otherwise.
    telemetry_enabled: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.telemetry_enabled is False:
            if self.root_path:
                scope["root_path"] = self.root_path
            await Starlette.__call__(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def settle_telemetry(self) -> None:
        native = getattr(self, "_native_telemetry", None)
        self.telemetry_enabled = native is not None and bool(native.enabled())

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if not self.user_middleware:  # CORS (and any middleware added) must see every request
            stack = PipelineShortcut(stack, self.dispatch, self, self.exception_handlers)
        return MetricsMiddleware(RequestContextMiddleware(stack, self.settings), self.routes)


def _release() -> str:
    """The server's release (a valid package version, what SDK generators stamp on a client);
    the API version a client pins is the `Scripe-Api-Version` header's."""
    return release()


def create_app(settings: Settings) -> ScripeApp:
    """Build the API. No I/O happens here: connections open lazily on first use."""

    @asynccontextmanager
    async def lifespan(app: ScripeApp) -> AsyncIterator[None]:
        restore = _on_stop_signal(services.begin_shutdown)
        app.settle_telemetry()
        try:
            yield
        finally:
            restore()
            await services.close()

    app = ScripeApp(
        title="Scripe API",
        version=_release(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package's own assets: api.docs_page
        redoc_url=None,
        openapi_url="/openapi.json",
        # `/v1/projects/` is not a route: a 404, not a redirect clients would have to follow.
        redirect_slashes=False,
        # Handler names are the operationIds SDK generators turn into method names.
        generate_unique_id_function=lambda route: route.name,
    )
    app.settings = settings
    services = Services.build(settings, Resources.open(settings))
    app.state.services = services
    # The request pipeline sees only its collaborators (api.pipeline), not the whole locator.
    app.state.pipeline = services.pipeline
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # PUT: an upload's bytes to the URL the service signed; DELETE: webhook endpoints.
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Scripe-Api-Version",
                "Cancel-After",
                "Prefer",
                # What EventSource sends when it reconnects (some browsers preflight it).
                "Last-Event-ID",
            ],
            expose_headers=[
                "X-Request-Id",
                "Scripe-Api-Version",
                "Idempotent-Replayed",
                "Retry-After",
                "Preference-Applied",
            ],
        )
    install_error_handlers(app, settings)
    include_routers(app)
    # After the routers: the schema is completed from the operations they declare.
    install_openapi(app, settings.accepted_versions)
    include_metrics(app, settings.metrics_path)
    install_docs(app)
    app.dispatch = Dispatch(app.router.routes, app.router.middleware_stack)
    # Starlette types the router's stack as its own bound method; any ASGI app takes its place.
    router_stack: Any = app.dispatch
    app.router.middleware_stack = router_stack
    return app
