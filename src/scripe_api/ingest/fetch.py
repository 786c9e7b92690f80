"""Fetching a knowledge URL without letting it reach our own networks (INGEST.md §3).

Every hop — the URL, then each redirect, followed here (never by httpx) — is checked by
`netguard`: http or https only, the host resolved once and each of its addresses public (unless
private ones are allowed), and the request sent to that very address (the URL's host replaced
by it, the `Host` header and the TLS server name kept), so a second DNS answer cannot send it
elsewhere. One deadline bounds all the hops together, reading included: a server that trickles
its body byte by byte fails like one that never answers. The body is counted as it arrives and
never held beyond `max_bytes` (a gzip body is inflated at most that far).

Failures are `JobFailure`s: `fetch_blocked` (the scheme or an address is refused),
`fetch_failed` (permanent: HTTP 4xx, a redirect loop or too many, too large, no such host;
transient: timeouts, connection errors, HTTP 5xx and 429) and `unsupported_content`. Their
messages name the host at most, never the URL's path, query or credentials.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from scripe_api.core import netguard
from scripe_api.core.release import release
from scripe_api.jobs.errors import JobFailure

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_ALLOWED_TYPES = frozenset({"text/html", "text/plain", "application/pdf"})

_SCHEMES = ("http", "https")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GZIP_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


@dataclass(frozen=True)
class Fetched:
    """A fetched document: the URL it was finally served from (after redirects), its media type
    (lower case, without parameters), its charset if the server named one, and its bytes."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class _Rules:
    allow_private: bool
    max_bytes: int
    allowed_types: frozenset[str]
    resolver: netguard.Resolver | None


async def fetch(
    url: str,
    *,
    allow_private: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    allowed_types: frozenset[str] = DEFAULT_ALLOWED_TYPES,
    client: httpx.AsyncClient | None = None,
    resolver: netguard.Resolver | None = None,
) -> Fetched:
    """Fetch `url` under the rules above; `JobFailure` when it cannot or may not be fetched.

    `client`, when given, must not trust the environment (its proxies would carry requests
    past the address checks); `resolver` replaces the system's DNS lookup."""
    rules = _Rules(allow_private, max_bytes, allowed_types, resolver)
    if client is not None:
        if client.trust_env:
            raise ValueError("the client must be created with trust_env=False")
        return await _fetch_within(url, rules, max_redirects, timeout_seconds, client)
    async with _new_client(timeout_seconds) as own:
        return await _fetch_within(url, rules, max_redirects, timeout_seconds, own)


async def _fetch_within(
    url: str, rules: _Rules, max_redirects: int, timeout_seconds: float, client: httpx.AsyncClient
) -> Fetched:
    """`_follow` under one deadline for every hop, reading included (httpx's own timeouts
    bound each read, which a server trickling bytes never exceeds)."""
    try:
        async with asyncio.timeout(timeout_seconds):
            return await _follow(url, rules, max_redirects, client)
    except TimeoutError as error:
        raise _transient(f"Fetching the URL took longer than {timeout_seconds:g} s.") from error


def _new_client(timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        # The environment's proxies would send requests past our address checks.
        trust_env=False,
        timeout=timeout_seconds,
        headers={"user-agent": _user_agent()},
    )


def _user_agent() -> str:
    return f"scripe-ingest/{release()}"


async def _follow(
    url: str, rules: _Rules, max_redirects: int, client: httpx.AsyncClient
) -> Fetched:
    seen = {urldefrag(url).url}
    for _ in range(max_redirects + 1):
        outcome = await _hop(url, rules, client)
        if isinstance(outcome, Fetched):
            return outcome
        url = outcome
        if urldefrag(url).url in seen:
            raise _permanent(f"{_host_of(url)} redirects in a loop.")
        seen.add(urldefrag(url).url)
    raise _permanent(f"The URL redirects more than {max_redirects} times.")


async def _hop(url: str, rules: _Rules, client: httpx.AsyncClient) -> Fetched | str:
    """One request: the document, or the URL it redirects to (not yet checked)."""
    target = await _target(url, rules)
    host = target.host
    wire_host = _ascii(host)
    try:
        async with client.stream(
            "GET",
            target.pinned_url,
            headers=_headers(target, wire_host, rules.allowed_types),
            # The certificate is checked against the name, not the address we connect to.
            extensions={"sni_hostname": wire_host} if _is_https(target) else {},
            follow_redirects=False,
        ) as response:
            location = _redirect(response, url, host)
            if location is not None:
                return location
            _check_status(response.status_code, host)
            content_type, charset = _media_type(response, rules.allowed_types, host)
            body = await _read_body(response, rules.max_bytes, host)
    except httpx.TimeoutException as error:
        raise _transient(f"{host} did not answer in time.") from error
    except httpx.InvalidURL as error:
        raise _permanent("The URL is not valid.") from error
    except httpx.HTTPError as error:
        raise _transient(f"The connection to {host} failed ({type(error).__name__}).") from error
    return Fetched(url=url, content_type=content_type, charset=charset, body=body)


async def _target(url: str, rules: _Rules) -> netguard.Target:
    try:
        return await netguard.resolve(
            url, allow_private=rules.allow_private, schemes=_SCHEMES, resolver=rules.resolver
        )
    except netguard.Blocked as error:
        raise JobFailure(
            "fetch_blocked", f"The URL is refused: {error}.", transient=False
        ) from error
    except socket.gaierror as error:
        # A resolver that could not answer now (EAI_AGAIN) may answer later.
        message = f"{_host_of(url)} does not resolve."
        if error.errno == socket.EAI_AGAIN:
            raise _transient(message) from error
        raise _permanent(message) from error
    except (OSError, ValueError) as error:  # ValueError: a malformed URL; UnicodeError: a name
        raise _permanent(f"{_host_of(url)} does not resolve.") from error


def _is_https(target: netguard.Target) -> bool:
    return urlsplit(target.url).scheme == "https"


def _headers(
    target: netguard.Target, wire_host: str, allowed_types: frozenset[str]
) -> dict[str, str]:
    host = f"[{wire_host}]" if ":" in wire_host else wire_host
    default_port = 443 if _is_https(target) else 80
    return {
        "host": host if target.port == default_port else f"{host}:{target.port}",
        "accept": ", ".join(sorted(allowed_types)),
        # gzip only: it is the encoding we can inflate within the size cap.
        "accept-encoding": "gzip",
    }


def _redirect(response: httpx.Response, url: str, host: str) -> str | None:
    if response.status_code not in _REDIRECTS:
        return None
    location: str = response.headers.get("location", "")
    if not location.strip():
        raise _permanent(f"{host} answered HTTP {response.status_code} without a Location.")
    return urljoin(url, location.strip())


def _check_status(status: int, host: str) -> None:
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise _transient(f"{host} answered HTTP {status}.")
    raise _permanent(f"{host} answered HTTP {status}.")


def _media_type(
    response: httpx.Response, allowed_types: frozenset[str], host: str
) -> tuple[str, str | None]:
    kind, _, parameters = response.headers.get("content-type", "").partition(";")
    kind = kind.strip().lower()
    if kind not in allowed_types:
        raise JobFailure(
            "unsupported_content",
            f"{host} sent {kind or 'no content type'}; "
            f"only {', '.join(sorted(allowed_types))} can be ingested.",
            transient=False,
        )
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return kind, charset


async def _read_body(response: httpx.Response, max_bytes: int, host: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(host, max_bytes)
    gunzip = _gunzip(response.headers.get("content-encoding"), host)
    body = bytearray()
    received = 0
    # Raw bytes: httpx would inflate a whole chunk at once, a thousandfold for a gzip bomb.
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(host, max_bytes)
        data = chunk if gunzip is None else gunzip.inflate(chunk, max_bytes - len(body))
        if len(body) + len(data) > max_bytes:
            raise _too_large(host, max_bytes)
        body += data
    return bytes(body)


class _Gunzip:
    def __init__(self) -> None:
        # A gzip or a zlib header, whichever comes ("deflate" is zlib-wrapped).
        self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)

    def inflate(self, chunk: bytes, room: int) -> bytes:
        """At most `room + 1` bytes: one more than fits says the body is too large."""
        try:
            return self._zlib.decompress(chunk, room + 1)
        except zlib.error as error:
            raise _permanent("The body is not valid gzip.") from error


def _gunzip(encoding: str | None, host: str) -> _Gunzip | None:
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return None
    if encoding in _GZIP_ENCODINGS:
        return _Gunzip()
    raise _permanent(f"{host} sent a body encoded as {encoding[:40]}, which we cannot read.")


def _host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return host or "The URL's host"


def _ascii(host: str) -> str:
    """The host as it goes on the wire (IDNA for an internationalised name)."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise _permanent("The URL's host is not a valid name.") from error


def _too_large(host: str, max_bytes: int) -> JobFailure:
    return _permanent(f"{host} sent more than {max_bytes} bytes.")


def _permanent(message: str) -> JobFailure:
    return JobFailure("fetch_failed", message, transient=False)


def _transient(message: str) -> JobFailure:
    return JobFailure("fetch_failed", message, transient=True)
