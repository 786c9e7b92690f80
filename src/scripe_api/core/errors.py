"""The one error hierarchy and its one renderer. Every failure a client can see is an
`AppError` with a stable code, rendered by `error_body` into the §1.4 envelope.

Domain code raises these (never HTTP exceptions); the API's handlers, its outermost middleware
and the HTTP protocol itself render them, and everything else that escapes, through
`error_body`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from scripe_api.core.redaction import API_KEY_BYTES

DOCS_URL = "https://docs.scripe.io/api/v1/errors#{code}"


class AppError(Exception):
    """An error with a stable snake_case code, an HTTP status and client-facing text."""

    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500
    default_message: ClassVar[str] = "An unexpected error occurred."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = dict(details) if details is not None else None
        self.meta = dict(meta) if meta is not None else None
        self.headers = dict(headers) if headers is not None else {}
        super().__init__(self.message)


class InvalidRequest(AppError):
    code = "invalid_request"
    status_code = 400
    default_message = "The request is malformed."


class VersionUnsupported(AppError):
    code = "version_unsupported"
    status_code = 400
    default_message = "Unsupported Scripe-Api-Version."


class BadPagination(AppError):
    code = "bad_pagination"
    status_code = 400
    default_message = "limit must be an integer between 1 and 1000 (values above 200 are clamped)."


class BadCursor(AppError):
    code = "bad_cursor"
    status_code = 400
    default_message = "The cursor is invalid, tampered with, or belongs to another query."


class Unauthenticated(AppError):
    code = "unauthenticated"
    status_code = 401
    default_message = "Missing or malformed Authorization header; expected 'Bearer <key>'."


class InvalidToken(AppError):
    code = "invalid_token"
    status_code = 401
    default_message = "The API key is not valid."


class KeyRevoked(AppError):
    code = "key_revoked"
    status_code = 401
    default_message = "The API key has been revoked."


class KeyExpired(AppError):
    code = "key_expired"
    status_code = 401
    default_message = "The API key has expired."


class PlanNotEligible(AppError):
    code = "plan_not_eligible"
    status_code = 403
    default_message = "Your workspace plan does not include API access."


class ScopeMissing(AppError):
    code = "scope_missing"
    status_code = 403
    default_message = "The API key lacks a scope this endpoint requires."


class NotFound(AppError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class MethodNotAllowed(AppError):
    code = "method_not_allowed"
    status_code = 405
    default_message = "Method not allowed on this path."


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status_code = 413
    default_message = "The request body is too large."


class UriTooLong(AppError):
    """Answered by the HTTP protocol itself, before routing (see `api.protocol`)."""

    code = "uri_too_long"
    status_code = 414
    default_message = "The request URL is too long."


class HeadersTooLarge(AppError):
    """Answered by the HTTP protocol itself, before routing (see `api.protocol`)."""

    code = "headers_too_large"
    status_code = 431
    default_message = "The request headers are too large."


class Unprocessable(AppError):
    code = "unprocessable"
    status_code = 422
    default_message = "The request breaks a rule."


class RateLimited(AppError):
    code = "rate_limited"
    status_code = 429
    default_message = "Rate limit exceeded."


class InternalError(AppError):
    code = "internal_error"
    status_code = 500
    default_message = "An unexpected error occurred."


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status_code = 503
    default_message = "The service is temporarily unavailable; retry shortly."


def error_body(error: AppError, request_id: str) -> bytes:
    payload: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "request_id": request_id,
        "docs_url": DOCS_URL.format(code=error.code),
    }
    if error.details is not None:
        payload["details"] = error.details
    if error.meta is not None:
        payload["meta"] = error.meta
    try:
        body = orjson.dumps({"error": payload})
    except orjson.JSONEncodeError:
        # A message naming the input can carry what JSON text cannot (a lone surrogate sent as
        # `\\ud800`): such characters are shown escaped instead.
        body = orjson.dumps({"error": _escape_unencodable(payload)})
    # A client may paste its key where an id goes; messages that name the input must not
    # echo it back (nor into a recorded idempotent response).
    return API_KEY_BYTES.sub(b"[redacted]", body)


def _escape_unencodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {_escape_unencodable(k): _escape_unencodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_unencodable(item) for item in value]
    return value
