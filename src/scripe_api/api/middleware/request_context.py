"""Outermost pure-ASGI middleware: request id, API version, body cap, last-resort 500.

It wraps Starlette's whole stack (see `ScripeApp.build_middleware_stack`), so its headers reach
every response, including 500s and errors raised before routing; headers set by inner
middleware would be lost on an unhandled exception.
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scripe_api.core.errors import (
    AppError,
    InternalError,
    PayloadTooLarge,
    VersionUnsupported,
    error_body,
)
from scripe_api.core.ids import new_request_id
from scripe_api.core.logging import bind_request
from scripe_api.settings import Settings

logger = logging.getLogger(__name__)

VERSION_HEADER = "scripe-api-version"

_UPLOAD_CONTENT = re.compile(r"/v1/uploads/[^/]+/content")


# A refused body is drained (see `_drain`) up to this size and for at most this long.
_DRAIN_MAX_BYTES = 32 * 1024 * 1024
_DRAIN_MAX_SECONDS = 10.0


class _BodyTooLarge(Exception):
    """A body without Content-Length grew past its cap while being read."""


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        bind_request(request_id, scope)
        state["request_id"] = request_id
        headers = Headers(scope=scope)
        requested = headers.get(VERSION_HEADER)
        is_supported = requested is None or requested in self.settings.accepted_versions
        # An unsupported version is answered in the current one: it is not something we speak.
        response_headers = self._context_headers(request_id, requested if is_supported else None)
        # Later layers (the rate limiter) add their headers to this same dict.
        state["response_headers"] = response_headers
        started = False

        async def send_with_context(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                mutable = MutableHeaders(scope=message)
                for name, value in response_headers.items():
                    mutable[name] = value
            await send(message)

        if not is_supported:
            await self._send_error(
                send_with_context,
                VersionUnsupported(
                    f"Scripe-Api-Version '{requested}' is not supported.",
                    details={"accepted": list(self.settings.accepted_versions)},
                ),
                request_id,
            )
            return

        cap = self.settings.large_body_paths.get(scope["path"], self.settings.max_body_bytes)
        declared = headers.get("content-length")
        if scope["method"] == "PUT" and _UPLOAD_CONTENT.fullmatch(scope["path"]):
            # An upload's bytes: the route streams them to storage and stops at the upload's
            # own signed cap (up to 500 MB), never holding them in memory.
            pass
        elif declared is not None and (not declared.isdigit() or int(declared) > cap):
            if declared.isdigit() and int(declared) <= _DRAIN_MAX_BYTES and not _expects(headers):
                await _drain(receive, 0)
            await self._send_error(send_with_context, _too_large(cap), request_id)
            return
        elif declared is None:
            # No Content-Length (a chunked body, or none at all): read it whole now, so an
            # oversized body is refused before authentication and routing, as a declared one is.
            try:
                receive = await _read_capped(receive, cap)
            except _BodyTooLarge:
                await self._send_error(send_with_context, _too_large(cap), request_id)
                return

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            # Starlette's ServerErrorMiddleware has already rendered and logged the 500 when
            # the response started; otherwise answer it here, never with internals.
            if not started:
                logger.exception("unhandled error", extra={"request_id": request_id})
                await self._send_error(send_with_context, InternalError(), request_id)

    def _context_headers(self, request_id: str, version: str | None) -> dict[str, str]:
        """`version` is the requested one when accepted, None for the current version."""
        resolved = version or self.settings.current_version
        headers = {"X-Request-Id": request_id, "Scripe-Api-Version": resolved}
        sunset = self.settings.deprecated_versions.get(resolved)
        if sunset is not None:
            headers["Scripe-Deprecation"] = (
                f"{resolved}; sunset={sunset}; replacement={self.settings.current_version}"
            )
        return headers

    @staticmethod
    async def _send_error(send: Send, error: AppError, request_id: str) -> None:
        body = error_body(error, request_id)
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
        if error.status_code == 413:
            # The unread body makes the connection unusable for another request.
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_capped(receive: Receive, cap: int) -> Receive:
    """Read the request body up to `cap` bytes; a `receive` that replays it, then goes live.

    Raises `_BodyTooLarge` as soon as more than `cap` bytes have arrived. After the replay,
    calls reach the server's own `receive` (which then reports the client disconnecting).
    """
    messages: list[Message] = []
    received = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        received += len(message.get("body", b""))
        if received > cap:
            if message.get("more_body", False):
                await _drain(receive, received)
            raise _BodyTooLarge()
        if not message.get("more_body", False):
            break
    pending = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


def _expects(headers: Headers) -> bool:
    """`Expect: 100-continue`: the client waits for our answer before it sends the body."""
    return headers.get("expect", "").lower() == "100-continue"


async def _drain(receive: Receive, received: int) -> None:
    """Read and discard the rest of a refused body, within bounds, before answering.

    Most clients send the whole request before reading the response; closing the connection
    under a body still arriving resets it, and the client sees a broken pipe instead of the
    413. Past `_DRAIN_MAX_BYTES` or `_DRAIN_MAX_SECONDS` the connection is closed under it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _DRAIN_MAX_SECONDS
    while received <= _DRAIN_MAX_BYTES:
        try:
            message = await asyncio.wait_for(receive(), deadline - loop.time())
        except TimeoutError:
            return
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds the {cap // 1024} KB limit.")
