"""The knowledge URL fetcher (INGEST.md §3) against real loopback servers: what it fetches,
every way of reaching a private address it refuses, and the misbehaving servers it outlasts
(endless bodies, gzip bombs, bodies trickled a byte at a time, redirect loops)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scripe_api.core import netguard
from scripe_api.ingest.fetch import Fetched, fetch
from scripe_api.jobs.errors import JobFailure

HTML = b"<html><body><p>Knowledge worth keeping.</p></body></html>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# A public address the test network (below) routes to the loopback site: with private addresses
# refused, it stands for a server on the internet.
PUBLIC = "93.184.216.34"
MB = 1024 * 1024


@dataclass(frozen=True)
class Page:
    status: int = 200
    content_type: str | None = "text/html; charset=UTF-8"
    body: bytes = HTML
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Page:
        return cls(status=status, content_type=None, body=b"", headers={"location": location})


@dataclass(frozen=True)
class Request:
    path: str
    host: str
    headers: Mapping[str, str]


class Site:
    """A web site on 127.0.0.1: `pages` by path (anything else is a 404), `requests` as seen."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        self.port = 0

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append(Request(scope["path"], headers.get("host", ""), headers))
        page = self.pages.get(scope["path"], Page(status=404, content_type="text/plain"))
        raw = [(k.encode(), v.encode()) for k, v in page.headers.items()]
        raw.append((b"content-length", str(len(page.body)).encode()))
        if page.content_type is not None:
            raw.append((b"content-type", page.content_type.encode()))
        await send({"type": "http.response.start", "status": page.status, "headers": raw})
        await send({"type": "http.response.body", "body": page.body})


@contextlib.asynccontextmanager
async def serving(site: Site, *, tls: tuple[Path, Path] | None = None) -> AsyncIterator[Site]:
    """`site` on a free loopback port; over https with `tls` (key file, certificate file)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    site.port = sock.getsockname()[1]
    config = uvicorn.Config(
        site,
        lifespan="off",
        ws="none",
        http="h11",
        log_level="warning",
        access_log=False,
        ssl_keyfile=str(tls[0]) if tls else None,
        ssl_certfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        # uvicorn exposes only a `started` flag, no event to await.
        while not server.started:
            assert not task.done(), "the site did not start"
            await asyncio.sleep(0.01)
        yield site
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serving(Site()) as running:
        yield running


class Resolver:
    """A DNS for the test: `names` to their addresses, every question kept in `asked`."""

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


class Network(httpx.AsyncBaseTransport):
    """The client's network: connections to an address in `routes` reach another one instead
    (as a NAT would), every address connected to is kept, and every body byte handed to the
    client is counted."""

    def __init__(
        self, routes: Mapping[str, str] | None = None, *, verify: ssl.SSLContext | bool = True
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport(verify=verify)
        self.routes = routes or {}
        self.connected: list[str] = []
        self.received = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.connected.append(request.url.host)
        if request.url.host in self.routes:
            request.url = request.url.copy_with(host=self.routes[request.url.host])
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, self)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, network: Network) -> None:
        self._stream = stream
        self._network = network

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            self._network.received += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


@contextlib.asynccontextmanager
async def client_on(network: Network) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=network, trust_env=False) as client:
        yield client


@dataclass
class RawBody:
    """What a raw-socket server sends after its headers: `chunk` every `interval` seconds until
    `limit` bytes or the client hangs up; `sent` counts what the socket accepted."""

    chunk: bytes
    limit: int
    interval: float = 0.0
    sent: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def raw_server(body: RawBody) -> AsyncIterator[str]:
    """A server that sends `body` with no length (it ends when the connection does)."""
    answering: set[asyncio.Task[Any]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        answering.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n"
            )
            while body.sent < body.limit:
                writer.write(body.chunk)
                await writer.drain()
                body.sent += len(body.chunk)
                if body.interval:
                    await asyncio.sleep(body.interval)  # the misbehaviour under test
        except ConnectionError:
            pass  # the client hung up, which is what the test waits for
        finally:
            body.finished.set()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for task in answering:
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def failure_of(attempt: Awaitable[Fetched]) -> JobFailure:
    with pytest.raises(JobFailure) as caught:
        await asyncio.wait_for(attempt, 15)
    return caught.value


async def within(seconds: float, event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), seconds)


# --- what it fetches -----------------------------------------------------------------------------


async def test_fetches_a_page_with_its_type_and_charset(site: Site) -> None:
    site.pages["/page"] = Page()

    fetched = await fetch(site.url("/page"), allow_private=True)

    assert fetched == Fetched(site.url("/page"), "text/html", "utf-8", HTML)
    assert [request.host for request in site.requests] == [f"127.0.0.1:{site.port}"]


async def test_fetches_a_pdf(site: Site) -> None:
    site.pages["/paper.pdf"] = Page(content_type="application/pdf", body=PDF)

    fetched = await fetch(site.url("/paper.pdf"), allow_private=True)

    assert (fetched.content_type, fetched.charset, fetched.body) == ("application/pdf", None, PDF)


async def test_inflates_a_gzip_body(site: Site) -> None:
    text = b"plain words " * 1000
    site.pages["/notes.txt"] = Page(
        content_type="text/plain", body=gzip.compress(text), headers={"content-encoding": "gzip"}
    )

    fetched = await fetch(site.url("/notes.txt"), allow_private=True)

    assert (fetched.content_type, fetched.body) == ("text/plain", text)


async def test_follows_redirects_checking_and_resolving_every_hop_once(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    resolve = netguard.resolve

    async def spy(url: str, **options: Any) -> netguard.Target:
        checked.append(url)
        return await resolve(url, **options)

    monkeypatch.setattr(netguard, "resolve", spy)
    resolver = Resolver({"first.test": ["127.0.0.1"], "second.test": ["127.0.0.1"]})
    site.pages["/start"] = Page.redirect(site.url("/middle", host="second.test"), 301)
    site.pages["/middle"] = Page.redirect("/page#top", 307)  # relative to the second host
    site.pages["/page"] = Page()
    start = site.url("/start", host="first.test")

    fetched = await fetch(start, allow_private=True, resolver=resolver)

    final = site.url("/page#top", host="second.test")
    assert (fetched.url, fetched.body) == (final, HTML)
    assert checked == [start, site.url("/middle", host="second.test"), final]
    assert resolver.asked == ["first.test", "second.test", "second.test"]
    # Each request went to the checked address, naming the host it was for.
    assert [request.host for request in site.requests] == [
        f"first.test:{site.port}",
        f"second.test:{site.port}",
        f"second.test:{site.port}",
    ]


async def test_follows_at_most_max_redirects(site: Site) -> None:
    for hop in range(3):
        site.pages[f"/r{hop}"] = Page.redirect(f"/r{hop + 1}")
    site.pages["/r3"] = Page()

    fetched = await fetch(site.url("/r0"), allow_private=True, max_redirects=3)
    assert fetched.url == site.url("/r3")

    failure = await failure_of(fetch(site.url("/r0"), allow_private=True, max_redirects=2))
    assert (failure.code, failure.transient) == ("fetch_failed", False)
    assert "more than 2" in failure.message


async def test_a_redirect_loop_fails(site: Site) -> None:
    site.pages["/a"] = Page.redirect("/b")
    site.pages["/b"] = Page.redirect(site.url("/a"))

    failure = await failure_of(fetch(site.url("/a"), allow_private=True))

    assert (failure.code, failure.transient) == ("fetch_failed", False)
    assert "loop" in failure.message
    assert [request.path for request in site.requests] == ["/a", "/b"]


async def test_connects_to_the_checked_address_and_verifies_tls_for_the_name(
    tmp_path: Path,
) -> None:
    """https through the pinned address: the certificate (for secure.test only, no address in
    it) verifies because the TLS server name and Host are the URL's host."""
    key_file, cert_file, authority = certificate_for("secure.test", tmp_path)
    async with serving(Site(), tls=(key_file, cert_file)) as secure:
        secure.pages["/page"] = Page()
        trusted = ssl.create_default_context(cadata=authority)
        resolver = Resolver({"secure.test": ["127.0.0.1"]})
        async with client_on(Network(verify=trusted)) as client:
            url = secure.url("/page", host="secure.test", scheme="https")
            fetched = await fetch(url, allow_private=True, client=client, resolver=resolver)

    assert fetched.body == HTML
    assert [request.host for request in secure.requests] == [f"secure.test:{secure.port}"]


# --- what it refuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0177.0.0.1",  # octal
        "0x7f.0.0.1",  # hex
        "0x7f000001",
        "127.1",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "0.0.0.0",  # noqa: S104 - the address under test, not one we bind
        "10.0.0.5",
        "169.254.169.254",  # cloud metadata
    ],
)
async def test_private_address_literals_are_blocked(site: Site, host: str) -> None:
    site.pages["/page"] = Page()
    # Literals are read, never looked up: a lookup here would be a bug.
    nobody = Resolver({})

    failure = await failure_of(
        fetch(site.url("/page", host=host), allow_private=False, resolver=nobody)
    )

    assert (failure.code, failure.transient) == ("fetch_blocked", False)
    assert nobody.asked == []
    assert site.requests == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["192.168.1.20"],
        ["172.16.0.1"],
        ["100.64.0.1"],  # CGNAT
        ["224.0.0.1"],  # multicast
        ["0.0.0.0"],  # noqa: S104 - the address under test, not one we bind
        ["::1"],
        ["fe80::1"],
        ["fd00::1"],
        ["::ffff:10.0.0.5"],
        [PUBLIC, "10.0.0.5"],  # one private answer among public ones is enough
    ],
)
async def test_a_public_looking_name_resolving_to_a_private_address_is_blocked(
    addresses: list[str],
) -> None:
    network = Network()
    resolver = Resolver({"docs.example.com": addresses})

    async with client_on(network) as client:
        failure = await failure_of(
            fetch(
                "https://docs.example.com/guide",
                allow_private=False,
                client=client,
                resolver=resolver,
            )
        )

    assert (failure.code, failure.transient) == ("fetch_blocked", False)
    assert "docs.example.com" in failure.message
    assert network.connected == []


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(
    "url", ["ftp://example.com/file.pdf", "file:///etc/passwd", "gopher://example.com/", "//x/"]
)
async def test_only_http_and_https_are_fetched(url: str, allow_private: bool) -> None:
    failure = await failure_of(fetch(url, allow_private=allow_private, resolver=Resolver({})))

    assert (failure.code, failure.transient) == ("fetch_blocked", False)


async def test_a_public_http_url_is_fetched_when_private_addresses_are_refused(
    site: Site,
) -> None:
    """The control for the redirect test below: the test network reaches the site through a
    public address."""
    site.pages["/page"] = Page()
    network = Network({PUBLIC: "127.0.0.1"})
    resolver = Resolver({"public.test": [PUBLIC]})

    async with client_on(network) as client:
        url = site.url("/page", host="public.test")
        fetched = await fetch(url, allow_private=False, client=client, resolver=resolver)

    assert fetched.body == HTML
    assert network.connected == [PUBLIC]
    assert [request.host for request in site.requests] == [f"public.test:{site.port}"]


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://internal.test:{port}/secret",  # resolves to 10.0.0.5
        "file:///etc/passwd",
        "ftp://public.test/secret",
    ],
)
async def test_a_redirect_to_a_private_address_is_blocked(site: Site, location: str) -> None:
    site.pages["/start"] = Page.redirect(location.format(port=site.port))
    site.pages["/secret"] = Page(body=b"internal only")
    network = Network({PUBLIC: "127.0.0.1"})
    resolver = Resolver({"public.test": [PUBLIC], "internal.test": ["10.0.0.5"]})

    async with client_on(network) as client:
        url = site.url("/start", host="public.test")
        failure = await failure_of(
            fetch(url, allow_private=False, client=client, resolver=resolver)
        )

    assert (failure.code, failure.transient) == ("fetch_blocked", False)
    assert network.connected == [PUBLIC]
    assert [request.path for request in site.requests] == ["/start"]


# --- how it fails --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "transient"), [(404, False), (403, False), (410, False), (429, True), (503, True)]
)
async def test_http_errors(site: Site, status: int, transient: bool) -> None:
    site.pages["/page"] = Page(status=status, content_type="text/plain", body=b"no")

    failure = await failure_of(fetch(site.url("/page"), allow_private=True))

    assert (failure.code, failure.transient) == ("fetch_failed", transient)
    assert str(status) in failure.message


async def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused

        failure = await failure_of(fetch(f"http://127.0.0.1:{port}/", allow_private=True))

    assert (failure.code, failure.transient) == ("fetch_failed", True)


@pytest.mark.parametrize(
    ("error", "transient"), [(socket.EAI_NONAME, False), (socket.EAI_AGAIN, True)]
)
async def test_a_host_that_does_not_resolve(error: int, transient: bool) -> None:
    async def failing(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(error, "lookup failed")

    failure = await failure_of(
        fetch("https://nowhere.example/doc", allow_private=False, resolver=failing)
    )

    assert (failure.code, failure.transient) == ("fetch_failed", transient)
    assert "nowhere.example" in failure.message


@pytest.mark.parametrize("content_type", ["image/png", "application/json", None])
async def test_other_content_types_are_unsupported(site: Site, content_type: str | None) -> None:
    site.pages["/file"] = Page(content_type=content_type, body=b"\x89PNG\r\n")

    failure = await failure_of(fetch(site.url("/file"), allow_private=True))

    assert (failure.code, failure.transient) == ("unsupported_content", False)


async def test_a_declared_length_over_the_cap_fails_before_reading(site: Site) -> None:
    site.pages["/big"] = Page(content_type="text/plain", body=b"x" * (2 * MB))
    network = Network()

    async with client_on(network) as client:
        failure = await failure_of(
            fetch(site.url("/big"), allow_private=True, max_bytes=MB, client=client)
        )

    assert (failure.code, failure.transient) == ("fetch_failed", False)
    assert network.received == 0


async def test_an_endless_body_is_cut_at_the_cap() -> None:
    body = RawBody(chunk=b"x" * 65536, limit=50 * MB)
    network = Network()

    async with raw_server(body) as url, client_on(network) as client:
        failure = await failure_of(fetch(url, allow_private=True, max_bytes=MB, client=client))
        await within(10, body.finished)

    assert (failure.code, failure.transient) == ("fetch_failed", False)
    assert "more than 1048576 bytes" in failure.message
    # Read up to the cap and one chunk past it, then hung up: the server could not send on
    # (what it sent beyond that sits in the sockets' buffers, never in ours).
    assert MB < network.received <= MB + 2 * 65536
    assert body.sent < 25 * MB


async def test_a_gzip_bomb_is_cut_at_the_cap(site: Site) -> None:
    bomb = gzip.compress(b"\0" * (20 * MB))
    site.pages["/bomb"] = Page(
        content_type="text/html", body=bomb, headers={"content-encoding": "gzip"}
    )

    failure = await failure_of(fetch(site.url("/bomb"), allow_private=True, max_bytes=MB))

    assert (failure.code, failure.transient) == ("fetch_failed", False)
    assert len(bomb) < MB  # what made it through was the inflation, not the wire


async def test_a_trickled_body_fails_at_the_deadline() -> None:
    """A byte every 0.2 s never trips a per-read timeout; the deadline over the whole fetch
    ends it."""
    body = RawBody(chunk=b"x", limit=10**9, interval=0.2)

    async with raw_server(body) as url:
        started = time.monotonic()
        failure = await failure_of(fetch(url, allow_private=True, timeout_seconds=1))
        elapsed = time.monotonic() - started

    assert (failure.code, failure.transient) == ("fetch_failed", True)
    assert "longer than 1 s" in failure.message
    assert elapsed < 5
    assert body.sent >= 2  # it was trickling, not silent


async def test_messages_never_repeat_the_urls_credentials_path_or_query(site: Site) -> None:
    url = f"http://reader:hunter2@127.0.0.1:{site.port}/private-doc?token=s3cr3t"

    failure = await failure_of(fetch(url, allow_private=True))

    assert failure.code == "fetch_failed"
    for secret in ("hunter2", "s3cr3t", "private-doc", "reader"):
        assert secret not in failure.message
    # Nor are the credentials sent on to the address.
    assert "authorization" not in site.requests[0].headers


async def test_a_client_that_trusts_the_environment_is_refused() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="trust_env"):
            await fetch("https://example.com/", allow_private=False, client=client)


def certificate_for(name: str, folder: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for `name` (its own authority): key file, certificate file,
    and the PEM a client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(pem)
    return key_file, cert_file, pem.decode()
