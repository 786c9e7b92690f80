"""A small synchronous client of the Scripe v1 API, for `scripe-api client`: HTTP only.

The API key travels in the Authorization header and nowhere else: it is never part of a URL, a
message or the output, and any text shown to the user is scrubbed of it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self

import httpx

from scripe_api.cli.errors import CliError

# The API version this client is written against (pinned, like any client of a dated API).
API_VERSION = "2026-08-01"
TIMEOUT_SECONDS = 30.0
# Retryable answers (429, 503, 409 idempotency_key_in_use, a connection dropped mid-request)
# are retried this many times; a server's Retry-After is honoured up to the ceiling.
MAX_RETRIES = 4
MAX_RETRY_AFTER_SECONDS = 30.0
# One page of `GET /v1/jobs` holds at most this many (the server clamps anything larger).
MAX_PAGE_SIZE = 200
_RETRY_STATUSES = frozenset({429, 503})
# Visible ASCII: anything else cannot be sent in a header (and is certainly not a key).
_KEY_SHAPE = re.compile(r"[\x21-\x7e]+")

Json = dict[str, Any]


class ApiError(CliError):
    """An error envelope (§1.4): `code: message (HTTP status, request req_…)`."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        where = f"HTTP {status}" + (f", request {request_id}" if request_id else "")
        super().__init__(f"{code}: {message} ({where})")


class ScripeClient:
    """`with ScripeClient(url, key) as api: api.get("/v1/jobs/job_…")` → the JSON body."""

    def __init__(
        self, url: str, key: str | None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if not key:
            raise CliError("no API key: pass --key or set SCRIPE_KEY")
        if not _KEY_SHAPE.fullmatch(key):
            raise CliError("the API key (--key or SCRIPE_KEY) is not well-formed")
        self._key = key
        self.url = _display_url(url)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=TIMEOUT_SECONDS,
            headers={
                "Authorization": f"Bearer {key}",
                "Scripe-Api-Version": API_VERSION,
                "User-Agent": "scripe-api-cli",
            },
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Json:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: Json, *, idempotency_key: str) -> Json:
        # The same Idempotency-Key on every retry: a retried call never submits twice.
        return self._request("POST", path, body=body, headers={"Idempotency-Key": idempotency_key})

    def pages(
        self, path: str, params: dict[str, str], *, limit: int, page_size: int
    ) -> Iterator[Json]:
        """Up to `limit` items of a list endpoint, following `pagination.next_cursor`."""
        cursor: str | None = None
        seen = 0
        while seen < limit:
            query = {**params, "limit": str(min(page_size, limit - seen, MAX_PAGE_SIZE))}
            if cursor is not None:
                query["cursor"] = cursor
            page = self.get(path, query)
            for item in page["data"][: limit - seen]:
                seen += 1
                yield item
            cursor = page["pagination"]["next_cursor"]
            if not page["pagination"]["has_more"] or cursor is None:
                return

    def events(self, path: str, after: int | None) -> Iterator[tuple[int | None, str, Json]]:
        """A Server-Sent Events stream's events — (id, event, data) — resumed after `after`,
        until the server ends it. Raises CliError when the stream cannot be opened or breaks
        (the caller falls back to polling)."""
        headers = {"Accept": "text/event-stream"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        try:
            with self._http.stream(
                "GET", path, headers=headers, timeout=httpx.Timeout(TIMEOUT_SECONDS, read=60.0)
            ) as response:
                if response.status_code != 200:
                    response.read()
                    self._json(response)  # raises the API's error
                    raise CliError(f"unexpected {response.status_code} from {path}")
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line == "":
                        if "data" in fields:
                            raw_id = fields.get("id")
                            yield (
                                int(raw_id) if raw_id and raw_id.isdigit() else None,
                                fields.get("event", "message"),
                                json.loads(fields["data"]),
                            )
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except (httpx.TransportError, json.JSONDecodeError) as error:
            raise CliError(f"the event stream of {path} broke: {type(error).__name__}") from None

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> Json:
        for attempt in range(MAX_RETRIES + 1):
            is_last = attempt == MAX_RETRIES
            try:
                response = self._http.request(
                    method, path, params=params, json=body, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # Nothing reached the server: say so at once rather than retry in silence.
                raise CliError(
                    f"cannot reach the Scripe API at {self.url}: {self._reason(error)}"
                ) from None
            except httpx.TransportError as error:
                if is_last:
                    raise CliError(
                        f"the Scripe API at {self.url} did not answer: {self._reason(error)}"
                    ) from None
                self._sleep(min(0.5 * 2**attempt, MAX_RETRY_AFTER_SECONDS))
                continue
            if not is_last and _is_retryable(response):
                self._sleep(_retry_after(response))
                continue
            return self._json(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _json(self, response: httpx.Response) -> Json:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success and isinstance(payload, dict):
            return payload
        request_id = response.headers.get("x-request-id")
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and "code" in error:
            raise ApiError(
                response.status_code,
                str(error["code"]),
                self._scrub(str(error.get("message", ""))),
                error.get("request_id") or request_id,
            )
        raise ApiError(
            response.status_code,
            "unexpected_response",
            f"{self.url} did not answer like the Scripe API",
            request_id,
        )

    def _reason(self, error: httpx.TransportError) -> str:
        return self._scrub(str(error) or type(error).__name__)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def check_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host; otherwise a readable error."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError("--url must be an http(s) URL such as http://127.0.0.1:8000")
    return url


def _display_url(url: str) -> str:
    """The URL without credentials or query (a key pasted into the URL is never shown)."""
    parsed = httpx.URL(check_url(url))
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path.rstrip('/')}"


def _is_retryable(response: httpx.Response) -> bool:
    if response.status_code in _RETRY_STATUSES:
        return True
    # The first request with this Idempotency-Key is still being processed (e.g. our own
    # earlier attempt whose answer was lost): wait for it and get its recorded answer.
    return response.status_code == 409 and _error_code(response) == "idempotency_key_in_use"


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    if not math.isfinite(seconds):
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
