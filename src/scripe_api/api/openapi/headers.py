"""Request and response headers every `/v1` operation shares, declared once as components."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scripe_api.api.openapi.errors import EXAMPLE_REQUEST_ID, is_error

_ALWAYS_HEADERS: dict[str, Any] = {
    "X-Request-Id": {
        "description": "This request's id (`req_…`); error bodies repeat it as "
        "`error.request_id`. Quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "example": EXAMPLE_REQUEST_ID},
    },
    "Scripe-Api-Version": {
        "description": "The API version that served the request.",
        "required": True,
        "schema": {"type": "string", "example": "2026-08-01"},
    },
}
_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per 60-second window in this operation's bucket "
        "(read, write or ai) for the workspace.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until a slot in the window frees up.",
        "schema": {"type": "integer"},
    },
}
_RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}
# Statuses whose every response carries Retry-After.
_RETRY_AFTER_REQUIRED = {"429", "503"}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def add_headers(operation: dict[str, Any]) -> None:
    authenticated = bool(operation.get("security"))
    names = {param["name"] for param in operation.get("parameters", [])}
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        wanted = [*_ALWAYS_HEADERS, *(_RATE_LIMIT_HEADERS if authenticated else ())]
        if status in _RETRY_AFTER_REQUIRED and is_error(response):
            wanted.append("Retry-After")
        elif status == "409" and "Idempotency-Key" in names:
            wanted.append("Retry-After-In-Use")
        for name in wanted:
            headers[name.removesuffix("-In-Use")] = _header_ref(name)


def components_headers() -> dict[str, Any]:
    return {
        **_ALWAYS_HEADERS,
        **_RATE_LIMIT_HEADERS,
        "Retry-After": {**_RETRY_AFTER, "required": True},
        "Retry-After-In-Use": {
            **_RETRY_AFTER,
            "description": "Sent with `idempotency_key_in_use`: seconds to wait.",
        },
    }


def version_parameter(accepted: Iterable[str]) -> dict[str, Any]:
    versions = ", ".join(f"`{version}`" for version in accepted)
    return {
        "name": "Scripe-Api-Version",
        "in": "header",
        "required": False,
        "description": f"The API version to use (accepted: {versions}). Omitted: the current "
        "version. Any other value is a `400 version_unsupported` listing the accepted ones.",
        "schema": {"type": "string", "example": "2026-08-01"},
    }
