"""Following a job from a browser (EVENTS.md §1). `EventSource` cannot send `Authorization` and an
API key never goes in a URL: `POST /v1/jobs/{jobId}/events/token` mints a short-lived token for
one job's stream, opened as `GET /v1/jobs/{jobId}/events?token=…`. Checked over HTTP (what each
token opens, and what it does not), then in headless Chromium against a live server that ends
the stream mid-job: the browser reconnects by itself and misses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect

from scripe_api.auth import management
from scripe_api.core.logging import configure_logging
from scripe_api.jobs.execution import run_attempt
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve, served
from tests.assertions import assert_error, eventually
from tests.clock import db_now
from tests.conftest import TEST_SECRET
from tests.factories import Factory, Tenant
from tests.jobs.calls import get_job, submit_generation, wait_for_key
from tests.jobs.test_events import Sse, SseReader
from tests.scripted_provider import release_key, script, started_key
from tests.workers_support import worker_deps

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def _mint(client: httpx.AsyncClient, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await client.post(f"/v1/jobs/{job_id}/events/token", headers=tenant.headers)
    assert response.status_code == 200, response.text
    minted: dict[str, Any] = response.json()["data"]
    return minted


async def _job(
    client: httpx.AsyncClient, factory: Factory, tenant: Tenant | None = None, text: str = "x"
) -> tuple[Tenant, dict[str, Any]]:
    """A QUEUED generation of `tenant` (a new workspace's when None)."""
    tenant = tenant or await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    return tenant, await submit_generation(client, tenant, project.id, text)


async def _done(settings: Settings, job: dict[str, Any]) -> None:
    async with worker_deps(settings) as deps:
        assert await run_attempt(deps, job["id"], 1) == "done"


def _events(response: httpx.Response) -> list[tuple[str, str]]:
    """(event, id) of a finished stream's body."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    found = re.findall(r"^id: (\d+)\nevent: (\w+)\n", response.text, re.MULTILINE)
    return [(event, number) for number, event in found]


async def test_a_token_opens_its_job_stream_without_a_key(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant, job = await _job(client, factory)
    await _done(settings, job)
    response = await client.post(f"/v1/jobs/{job['id']}/events/token", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "x-ratelimit-remaining" in response.headers
    minted = response.json()["data"]
    assert set(minted) == {"url", "token", "expiresAt"}
    assert minted["url"] == f"/v1/jobs/{job['id']}/events?token={minted['token']}"
    assert minted["token"].startswith("est_1.")
    assert tenant.key not in json.dumps(minted)
    assert TIMESTAMP.fullmatch(minted["expiresAt"])
    expires_at = datetime.fromisoformat(minted["expiresAt"])
    lifetime = expires_at - await db_now(sessionmaker)
    assert timedelta(seconds=3590) < lifetime <= timedelta(seconds=3600)
    done = await get_job(client, tenant, job["id"])
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as browser:
        async with browser.stream("GET", minted["url"]) as stream:
            assert stream.status_code == 200
            assert "x-ratelimit-remaining" in stream.headers
            received = await SseReader(stream).all()
        assert [(event.event, event.data) for event in received] == [
            ("status", done),
            ("done", done),
        ]
        # Resumable like any stream: the whole log after 0.
        log = await browser.get(minted["url"] + "&starting_after=0")
    replayed = _events(log)
    assert [int(number) for _, number in replayed] == list(range(1, len(replayed) + 1))
    assert [replayed[0][0], replayed[-1][0]] == ["status", "done"]


async def test_a_token_opens_nothing_else(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """Tampered, for another job, of another workspace, or no token at all: 401 in the error
    envelope, with the code of a bad key; a job the key cannot see cannot be minted for."""
    tenant, job = await _job(client, factory)
    _, sibling = await _job(client, factory, tenant)
    stranger, theirs = await _job(client, factory)
    await _done(settings, job)
    token = (await _mint(client, tenant, job["id"]))["token"]
    their_token = (await _mint(client, stranger, theirs["id"]))["token"]
    path = f"/v1/jobs/{job['id']}/events"
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    later = token.replace(".", ".9", 1)  # a longer life, signed by nobody
    refused = [
        (path, tampered),
        (path, later),
        (path, token.replace("est_1.", "est_7.", 1)),  # a secret version we do not have
        (path, their_token),  # another workspace's key, on this job
        (f"/v1/jobs/{sibling['id']}/events", token),  # this workspace, another job
        (f"/v1/jobs/{theirs['id']}/events", token),
        (path, ""),
        (path, "est_"),
        (path, tenant.key),  # a key is not a token (and never goes in a URL)
        (path, "x" * 5000),
    ]
    for target, value in refused:
        answer = await client.get(target, params={"token": value})
        error = assert_error(answer, 401, "invalid_token")
        assert len(value) < 8 or value not in answer.text, target  # never echoed
        assert "not valid" in error["message"]
    # Minting follows the stream's 404 rules: another workspace's job, or no such job.
    for job_id in (theirs["id"], "job_unknown"):
        answer = await client.post(f"/v1/jobs/{job_id}/events/token", headers=tenant.headers)
        assert_error(answer, 404, "not_found")
    assert_error(await client.post(f"/v1/jobs/{job['id']}/events/token"), 401, "unauthenticated")
    assert_error(await client.get(path), 401, "unauthenticated")
    # A key still authenticates the stream as before; it wins over a token sent with it.
    with_key = await client.get(path, params={"token": "garbage"}, headers=tenant.headers)
    assert [event for event, _ in _events(with_key)] == ["status", "done"]


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant, job = await _job(client, factory)
    await _done(settings, job)
    brief = settings.model_copy(update={"events_token_ttl_seconds": 1})
    async with serve(create_app(brief)) as short_lived:
        minted = await _mint(short_lived, tenant, job["id"])
        lifetime = datetime.fromisoformat(minted["expiresAt"]) - await db_now(sessionmaker)
        assert lifetime <= timedelta(seconds=1)

        async def open_stream() -> httpx.Response:
            return await short_lived.get(minted["url"])

        expired = await eventually(open_stream, lambda r: r.status_code != 200, within=5)
    error = assert_error(expired, 401, "invalid_token")
    assert "expired" in error["message"]


async def test_a_revoked_key_stops_its_tokens_at_once(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant, job = await _job(client, factory)
    await _done(settings, job)
    minted = await _mint(client, tenant, job["id"])
    assert _events(await client.get(minted["url"]))
    async with sessionmaker() as session, session.begin():
        await management.revoke_key(session, tenant.key_id)
    # The key is read when a stream opens: no cache lets a token outlive its key.
    assert_error(await client.get(minted["url"]), 401, "key_revoked")


async def test_secrets_rotate_without_breaking_tokens(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """The newest secret signs; every active one verifies; a retired one opens nothing."""
    tenant, job = await _job(client, factory)
    await _done(settings, job)
    before = await _mint(client, tenant, job["id"])
    secrets = {1: SecretStr(TEST_SECRET), 2: SecretStr(TEST_SECRET[::-1])}
    rotated = settings.model_copy(update={"secret_keys": secrets})
    async with serve(create_app(rotated)) as after_rotation:
        assert _events(await after_rotation.get(before["url"]))
        after = await _mint(after_rotation, tenant, job["id"])
        assert after["token"].startswith("est_2.")
        assert _events(await after_rotation.get(after["url"]))
    assert_error(await client.get(after["url"]), 401, "invalid_token")


async def test_token_streams_count_against_their_workspace(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, job = await _job(client, factory)
    minted = await _mint(client, tenant, job["id"])
    capped = settings.model_copy(update={"events_streams_per_workspace": 1})
    async with (
        served(capped) as url,
        httpx.AsyncClient(base_url=url) as browser,
        browser.stream("GET", minted["url"]) as first,
    ):
        assert first.status_code == 200
        reader = SseReader(first)  # held: a reader collected would close the stream
        assert await reader.next() is not None
        assert_error(await browser.get(minted["url"]), 429, "rate_limited")
        keyed = await browser.get(job["urls"]["events"], headers=tenant.headers)
        assert_error(keyed, 429, "rate_limited")


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """The service's own logging (JSON lines, redaction), written to a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(settings.model_copy(update={"log_format": "json"}))
    stream = io.StringIO()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_tokens_never_reach_the_logs(
    client: httpx.AsyncClient, factory: Factory, json_log: io.StringIO
) -> None:
    tenant, job = await _job(client, factory)
    minted = await _mint(client, tenant, job["id"])
    # An access line as uvicorn writes it for the stream's request (raw, or percent-encoded),
    # through the handler every line of the service goes through. (uvicorn's own access logger
    # is reconfigured by the in-process servers of other tests: any logger does here.)
    access = logging.getLogger(__name__)
    for path in (minted["url"], minted["url"].replace("_", "%5F").replace(".", "%2E")):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/x?token=abc-def", "1.1", 401)
    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    written = [line["message"] for line in lines if line["logger"] == __name__]
    assert len(written) == 3, output
    assert all("?token=[redacted key] HTTP/1.1" in message for message in written), written
    assert minted["token"] not in output
    assert minted["token"].rsplit(".", 1)[1] not in output  # not even its MAC
    assert "abc-def" not in output


# --- In a browser --------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRequest:
    """A request the server got on an event stream's path."""

    method: str
    last_event_id: str | None
    has_authorization: bool
    has_token: bool


class StreamRequests:
    """Outermost middleware recording the requests of `/events` paths (the server's view of
    the browser's reconnections)."""

    def __init__(self, app: ASGIApp, seen: list[StreamRequest]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/events"):
            headers = Headers(scope=scope)
            self.seen.append(
                StreamRequest(
                    method=scope["method"],
                    last_event_id=headers.get("last-event-id"),
                    has_authorization="authorization" in headers,
                    has_token=b"token=est_" in scope["query_string"],
                )
            )
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def page_server(pages: dict[str, str]) -> AsyncIterator[str]:
    """An HTTP server on another loopback port (so another origin) serving `pages` by path,
    read when requested; yields its origin."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            page = pages.get(path)
            body = (page or "not found").encode()
            status = "200 OK" if page is not None else "404 Not Found"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def follower_page(api: str, job_id: str, key: str) -> str:
    """Mints a token with the key, opens the stream with EventSource, and records what it sees
    in `window.received`: each connection opened, each event, each error."""
    values = json.dumps({"api": api, "job": job_id, "key": key})
    return f"""<!doctype html>
<meta charset="utf-8"><title>Following a job</title>
<script>
window.received = [];
const {{api, job, key}} = {values};
(async () => {{
  try {{
    const minted = await fetch(`${{api}}/v1/jobs/${{job}}/events/token`, {{
      method: "POST", headers: {{Authorization: `Bearer ${{key}}`}}}});
    if (!minted.ok) {{
      received.push({{kind: "failed", detail: `${{minted.status}} ${{await minted.text()}}`}});
      return;
    }}
    const {{data}} = await minted.json();
    const source = new EventSource(api + data.url);
    source.onopen = () => received.push({{kind: "open"}});
    source.onerror = () => received.push({{kind: "error", readyState: source.readyState}});
    for (const type of ["status", "progress", "done"]) {{
      source.addEventListener(type, (event) => {{
        received.push({{kind: "event", type, id: event.lastEventId, data: JSON.parse(event.data)}});
        if (type === "done") {{
          source.close();
          received.push({{kind: "closed"}});
        }}
      }});
    }}
  }} catch (error) {{
    received.push({{kind: "failed", detail: String(error)}});
  }}
}})();
</script>
"""


class Page:
    """One page of a browser, driven through the DevTools protocol."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._last_id = 0

    async def evaluate(self, expression: str) -> Any:
        self._last_id += 1
        command = {
            "id": self._last_id,
            "method": "Runtime.evaluate",
            "params": {"expression": expression, "returnByValue": True},
        }
        await self._connection.send(json.dumps(command))
        while True:
            message = json.loads(await self._connection.recv())
            if message.get("id") == self._last_id:
                break
        result = message["result"]
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def received(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads(
            await self.evaluate("JSON.stringify(window.received ?? [])")
        )
        return entries

    async def wait_for(
        self,
        description: str,
        holds: Callable[[list[dict[str, Any]]], bool],
        *,
        within: float = 20.0,
    ) -> None:
        """Until `holds(received)` is true; fails after `within` seconds with what the page
        recorded."""
        deadline = time.monotonic() + within
        while not holds(entries := await self.received()):
            failed = [entry for entry in entries if entry["kind"] == "failed"]
            assert not failed, failed
            assert time.monotonic() < deadline, f"never {description}: {entries}"
            await asyncio.sleep(0.05)


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("headless Chromium is not installed (the Debian package `chromium`)")
    return binary


@contextlib.asynccontextmanager
async def chromium_page(url: str, profile: Path) -> AsyncIterator[Page]:
    """Headless Chromium showing `url`, killed (its whole process group) on the way out."""
    binary = _chromium()
    log = profile.parent / "chromium.log"
    with log.open("wb") as output:
        # Started once and then only polled: nothing here blocks the loop.
        browser = subprocess.Popen(  # noqa: ASYNC220
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                url,
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            # Its scratch files (singleton socket, crash reports) go with the test's.
            env={**os.environ, "TMPDIR": str(profile.parent)},
            start_new_session=True,
        )
    try:
        port = await _devtools_port(profile, browser, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as devtools:

            async def targets() -> list[dict[str, Any]]:
                listed: list[dict[str, Any]] = (await devtools.get("/json/list")).json()
                return [target for target in listed if target.get("type") == "page"]

            pages = await eventually(targets, lambda found: bool(found), within=20)
        async with connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as connection:
            yield Page(connection)
    finally:
        await _stop(browser)


async def _devtools_port(profile: Path, browser: subprocess.Popen[bytes], log: Path) -> int:
    """The port Chromium chose (`--remote-debugging-port=0` writes it to DevToolsActivePort)."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while True:
        lines = active.read_text().splitlines() if active.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        if browser.poll() is not None:
            output = await asyncio.to_thread(log.read_text, errors="replace")
            raise AssertionError(f"Chromium exited: {output[-2000:]}")
        assert time.monotonic() < deadline, "Chromium never opened its DevTools port"
        await asyncio.sleep(0.05)


async def _stop(browser: subprocess.Popen[bytes]) -> None:
    """Ends the browser and every process it started: it leads its own process group
    (`start_new_session`), which is gone once the last of them has exited."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(browser.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _group_alive(browser.pid) and time.monotonic() < deadline:
        browser.poll()  # reaps the leader once it exits
        await asyncio.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(browser.pid, signal.SIGKILL)
    await asyncio.to_thread(browser.wait, 10)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _connections(entries: list[dict[str, Any]]) -> list[list[Sse]]:
    """The events the page received, per connection it opened."""
    connections: list[list[Sse]] = []
    for entry in entries:
        if entry["kind"] == "open":
            connections.append([])
        elif entry["kind"] == "event":
            connections[-1].append(Sse(int(entry["id"]), entry["type"], entry["data"]))
    return connections


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path: Chromium's singleton socket path must fit in 108 bytes,
    which pytest's own temporary folders (under xdist) do not."""
    folder = Path(tempfile.mkdtemp(prefix="chr-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_browser_follows_a_job_across_the_server_ending_its_stream(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    short_tmp: Path,
) -> None:
    """A page on another origin mints a token with `fetch`, opens the stream with
    `EventSource`, and follows the job from QUEUED to DONE while the server ends each stream
    after a second: the browser reconnects by itself (`retry:`, `Last-Event-ID`) and gets
    every event once, in order."""
    _chromium()
    block = uuid.uuid4().hex
    tenant, job = await _job(client, factory, text=script(block=block))
    pages: dict[str, str] = {}
    seen: list[StreamRequest] = []
    async with page_server(pages) as origin:
        brief = settings.model_copy(
            update={"cors_origins": [origin], "events_stream_max_seconds": 1.0}
        )
        app = create_app(brief)
        app.add_middleware(StreamRequests, seen=seen)
        async with served(brief, app) as api:
            pages["/"] = follower_page(api, job["id"], tenant.key)
            async with (
                chromium_page(f"{origin}/", short_tmp / "profile") as page,
                worker_deps(settings) as deps,
            ):
                await page.wait_for(
                    "saw the job QUEUED",
                    lambda entries: any(entry["kind"] == "event" for entry in entries),
                )
                running = asyncio.create_task(run_attempt(deps, job["id"], 1))
                await wait_for_key(redis, started_key(job["id"], 1))

                def reconnected_while_running(entries: list[dict[str, Any]]) -> bool:
                    kinds = [(entry["kind"], entry.get("type")) for entry in entries]
                    return ("event", "progress") in kinds and ("open", None) in kinds[
                        kinds.index(("event", "progress")) :
                    ]

                await page.wait_for("reconnected mid-job", reconnected_while_running)
                await redis.set(release_key(block), "1")
                assert await running == "done"
                await page.wait_for(
                    "saw the job end", lambda entries: {"kind": "closed"} in entries
                )
                entries = await page.received()
    done = await get_job(client, tenant, job["id"])
    connections = _connections(entries)
    assert len(connections) >= 2, entries
    # A stream the server ends closes with the job as it is then, numbered with the last event
    # sent (a snapshot, not a new event); the browser resumes after that id.
    followed: list[Sse] = []
    for connection in connections[:-1]:
        *events, closing = connection
        followed += events
        assert closing.event == "status", connection
        assert followed, connection
        assert closing.id == followed[-1].id, connection
    followed += connections[-1]
    # Every event once, in order: the job as it was at first (id 0: nothing logged yet), then
    # the job's events 1…n — no gap and no repeat across the reconnections.
    assert [event.id for event in followed] == list(range(len(followed))), entries
    assert (followed[0].event, followed[0].data) == ("status", job)
    assert (followed[1].event, followed[1].data["status"]) == ("status", "RUNNING")
    assert {event.event for event in followed[2:-2]} == {"progress"}
    assert [(event.event, event.data) for event in followed[-2:]] == [
        ("status", done),
        ("done", done),
    ]
    assert done["status"] == "DONE"
    assert done["cost"]["state"] == "final"
    # The server's view: only token requests (never a key), each reconnection carrying the id
    # the browser had last seen, and one of them while the job was running.
    streams = [request for request in seen if request.method == "GET"]
    assert all(request.has_token and not request.has_authorization for request in streams)
    assert [request.last_event_id for request in streams] == [None] + [
        str(connection[-1].id) for connection in connections[:-1]
    ]
    resumed = [int(request.last_event_id or 0) for request in streams[1:]]
    running_id, done_id = followed[1].id, followed[-1].id
    assert running_id is not None
    assert done_id is not None
    assert any(running_id <= after < done_id for after in resumed), resumed
