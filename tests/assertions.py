"""What every response must look like, checked the same way everywhere."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from scripe_api.settings import CURRENT_API_VERSION

T = TypeVar("T")

REQUEST_ID = re.compile(r"req_[0-9A-HJKMNP-TV-Z]{26}")
ENVELOPE_KEYS = {"code", "message", "request_id", "docs_url", "details", "meta"}


def assert_context_headers(response: httpx.Response, version: str = CURRENT_API_VERSION) -> None:
    """`X-Request-Id: req_<ULID>` and the resolved `Scripe-Api-Version`, on every response."""
    request_id = response.headers.get("x-request-id", "")
    assert REQUEST_ID.fullmatch(request_id), response.headers
    assert response.headers.get("scripe-api-version") == version, response.headers


def assert_error(
    response: httpx.Response, status: int, code: str, *, version: str = CURRENT_API_VERSION
) -> dict[str, Any]:
    """The §1.4 envelope with `code`; returns `error` for further checks."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_context_headers(response, version)
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "request_id", "docs_url"} <= set(error) <= ENVELOPE_KEYS, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["docs_url"] == f"https://docs.scripe.io/api/v1/errors#{code}"
    for optional in ("details", "meta"):
        # Absent rather than null when there is nothing to say.
        assert error.get(optional, {}) is not None, error
    return error


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, within: float = 5.0
) -> T:
    """Call `probe` until `accept` holds for its result, or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not accepted after {within} s: {result!r}")
        await asyncio.sleep(0.02)
