"""The HTTP/1.1 protocol the server speaks: uvicorn's httptools protocol with bounded request
heads, and the one error envelope even for requests the parser refuses.

A request line longer than `max_url_bytes` is a `414 uri_too_long`, a head (all header lines)
longer than `max_header_bytes` a `431 headers_too_large`, both counted while the bytes arrive
so an oversized head is never held whole; any other request the parser cannot read is a
`400 invalid_request`. These answers never reach the app, so they are rendered here, with a
request id and the API version like every other response, and the connection is closed.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scripe_api.core.errors import (
    AppError,
    HeadersTooLarge,
    InvalidRequest,
    UriTooLong,
    error_body,
)
from scripe_api.core.ids import new_id
from scripe_api.settings import CURRENT_API_VERSION, Settings

logger = logging.getLogger(__name__)

# After a refused request head: how much more of it is read and dropped, and for how long.
_DISCARD_MAX_BYTES = 4 * 1024 * 1024
_DISCARD_SECONDS = 2.0


class _RequestHeadTooLarge(Exception):
    """Raised inside a parser callback; the parser reports it as a parse error."""


class BoundedHttpProtocol(HttpToolsProtocol):
    """Pass as uvicorn's `http` (the class, or "scripe_api.api.protocol:BoundedHttpProtocol"
    where the config is pickled): the limits come from the served app's settings."""

    max_url_bytes = Settings.model_fields["max_url_bytes"].default
    max_header_bytes = Settings.model_fields["max_header_bytes"].default
    api_version = CURRENT_API_VERSION

    _refusal: AppError | None = None
    _head_bytes = 0
    # Bytes read and dropped after a refusal; None while the connection is in use.
    _discarded: int | None = None

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        settings = _settings_of(config.loaded_app)
        if settings is not None:
            self.max_url_bytes = settings.max_url_bytes
            self.max_header_bytes = settings.max_header_bytes
            self.api_version = settings.current_version

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = None
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refuse(UriTooLong(f"The request URL exceeds {self.max_url_bytes // 1024} KB."))

    def on_header(self, name: bytes, value: bytes) -> None:
        # Name, value, ": " and CRLF: the bytes of the header line as sent.
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.max_header_bytes:
            self._refuse(
                HeadersTooLarge(
                    f"The request headers exceed {self.max_header_bytes // 1024} KB in all."
                )
            )
        super().on_header(name, value)

    def _refuse(self, error: AppError) -> None:
        self._refusal = error
        raise _RequestHeadTooLarge()

    def send_400_response(self, msg: str) -> None:
        error = self._refusal or InvalidRequest("The request is not valid HTTP/1.1.")
        request_id = new_id("req")
        logger.warning("request refused before routing: %s", error.code)
        body = error_body(error, request_id)
        head = [
            f"HTTP/1.1 {error.status_code} {_REASONS[error.status_code]}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            f"x-request-id: {request_id}",
            f"scripe-api-version: {self.api_version}",
            "connection: close",
        ]
        self.transport.write("\r\n".join(head).encode("ascii") + b"\r\n\r\n" + body)
        # A client writes its whole request before it reads: closing under bytes still
        # arriving would reset the connection and lose this answer. Only our side is shut (a
        # client reading to the end has its answer at once); what is left is read and
        # dropped, within bounds, until the client closes or the discard time is up.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._discarded = 0
        self.loop.call_later(_DISCARD_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._discarded is None:
            super().data_received(data)
            return
        self._discarded += len(data)
        if self._discarded > _DISCARD_MAX_BYTES:
            self.transport.close()


_REASONS = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


def _settings_of(app: object) -> Settings | None:
    """The settings of the app uvicorn serves, under the middlewares uvicorn wraps it in."""
    for _ in range(8):
        settings = getattr(app, "settings", None)
        if isinstance(settings, Settings):
            return settings
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None
