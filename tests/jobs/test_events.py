"""`GET /v1/jobs/{jobId}/events` (EVENTS.md §1), over real HTTP: a job's events as SSE, live,
resumable from any event id, rebuilt from Postgres when the log is gone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from scripe_api.jobs import events
from scripe_api.jobs.execution import run_attempt
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import served
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import get_job, submit_generation, wait_for_key
from tests.scripted_provider import release_key, script, started_key
from tests.workers_support import worker_deps


@dataclass(frozen=True)
class Sse:
    id: int | None
    event: str
    data: Any


class SseReader:
    """Reads one stream's events (and counts its comments) as they arrive."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments = 0
        self.retry: int | None = None
        self._lines = response.aiter_lines()

    async def next(self, within: float = 15.0) -> Sse | None:
        """The next event; None once the server closed the stream."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> Sse | None:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if "event" in fields or "data" in fields:
                    raw_id = fields.get("id")
                    return Sse(
                        int(raw_id) if raw_id is not None else None,
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "retry":
                self.retry = int(value)
            else:
                fields[name] = value
        return None

    async def all(self, within: float = 15.0) -> list[Sse]:
        received = []
        while (event := await self.next(within)) is not None:
            received.append(event)
        return received


@contextlib.asynccontextmanager
async def stream(
    url: str,
    tenant: Tenant,
    job_id: str,
    *,
    last_event_id: int | None = None,
    starting_after: int | None = None,
) -> AsyncIterator[SseReader]:
    headers = dict(tenant.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    params = {} if starting_after is None else {"starting_after": starting_after}
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, params=params) as rsp,
    ):
        assert rsp.status_code == 200, await rsp.aread()
        assert rsp.headers["content-type"].startswith("text/event-stream")
        assert rsp.headers["cache-control"] == "no-cache"
        yield SseReader(rsp)


async def _queued_job(client: httpx.AsyncClient, factory: Factory) -> tuple[Tenant, dict[str, Any]]:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    return tenant, await submit_generation(client, tenant, project.id)


async def _done_job(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> tuple[Tenant, dict[str, Any]]:
    tenant, job = await _queued_job(client, factory)
    async with worker_deps(settings) as deps:
        assert await run_attempt(deps, job["id"], 1) == "done"
    return tenant, await get_job(client, tenant, job["id"])


async def test_a_job_streams_from_queued_to_done_live(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, job = await _queued_job(client, factory)
    async with served(settings) as url, stream(url, tenant, job["id"]) as reader:
        first = await reader.next()
        assert first is not None
        assert reader.retry is not None
        assert (first.event, first.id, first.data["status"]) == ("status", 0, "QUEUED")
        assert first.data == job
        async with worker_deps(settings) as deps:
            assert await run_attempt(deps, job["id"], 1) == "done"
        rest = await reader.all()
    ids = [event.id for event in rest]
    assert ids == list(range(1, len(rest) + 1))
    names = [event.event for event in rest]
    assert names[0] == "status"
    assert rest[0].data["status"] == "RUNNING"
    assert names[-2:] == ["status", "done"]
    assert set(names[1:-2]) <= {"progress"}
    assert rest[-1].data == await get_job(client, tenant, job["id"])
    assert rest[-1].data["status"] == "DONE"
    assert rest[-1].data["cost"]["state"] == "final"


async def test_a_finished_job_streams_its_status_then_done_and_closes(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, done = await _done_job(client, factory, settings)
    async with served(settings) as url, stream(url, tenant, done["id"]) as reader:
        received = await reader.all()
    assert [event.event for event in received] == ["status", "done"]
    assert all(event.data == done for event in received)
    assert received[0].id == received[1].id
    assert received[0].id is not None
    assert received[0].id > 0


async def test_each_resume_form_gets_exactly_the_missed_events(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, done = await _done_job(client, factory, settings)
    async with served(settings) as url:
        async with stream(url, tenant, done["id"], starting_after=0) as reader:
            log = await reader.all()
        assert [event.id for event in log] == list(range(1, len(log) + 1))
        assert log[-1].event == "done"
        for seen in range(len(log)):
            for form in ("last_event_id", "starting_after"):
                async with stream(url, tenant, done["id"], **{form: seen}) as reader:
                    assert await reader.all() == log[seen:], (form, seen)


async def test_a_reconnection_in_the_middle_resumes_where_it_left_off(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, redis: Redis
) -> None:
    """Live: the client drops after the attempt's first events, the job goes on; the
    reconnection gets the rest, once each."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    job = await submit_generation(client, tenant, project.id, script(block=block))
    async with served(settings) as url, worker_deps(settings) as deps:
        running = asyncio.create_task(run_attempt(deps, job["id"], 1))
        await wait_for_key(redis, started_key(job["id"], 1))
        async with stream(url, tenant, job["id"]) as reader:
            first = await reader.next()
        assert first is not None
        assert first.event == "status"
        assert first.id is not None
        await redis.set(release_key(block), "1")
        assert await running == "done"
        async with stream(url, tenant, job["id"], last_event_id=first.id) as reader:
            rest = await reader.all()
        async with stream(url, tenant, job["id"], starting_after=0) as reader:
            log = await reader.all()
    assert rest == [event for event in log if event.id is not None and event.id > first.id]
    assert rest[-1].event == "done"


async def test_a_log_that_is_gone_is_rebuilt_from_postgres(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, redis: Redis
) -> None:
    tenant, done = await _done_job(client, factory, settings)
    await redis.delete(events.events_key(done["id"]), events.sequence_key(done["id"]))
    async with served(settings) as url, stream(url, tenant, done["id"], last_event_id=3) as r:
        received = await r.all()
    assert [(event.event, event.data) for event in received] == [
        ("status", done),
        ("done", done),
    ]


async def test_with_redis_down_the_stream_opens_from_postgres(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, done = await _done_job(client, factory, settings)
    project = await factory.project(tenant.workspace.id)
    queued = await submit_generation(client, tenant, project.id)
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with served(down) as url:
        async with stream(url, tenant, done["id"]) as reader:
            assert [event.event for event in await reader.all()] == ["status", "done"]
        # Not finished: its status, then the stream ends (EventSource reconnects later).
        async with stream(url, tenant, queued["id"], last_event_id=5) as reader:
            received = await reader.all()
    assert [(event.event, event.data["status"]) for event in received] == [("status", "QUEUED")]


async def test_idle_streams_get_keep_alive_comments(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, job = await _queued_job(client, factory)
    brisk = settings.model_copy(update={"events_keepalive_seconds": 0.05})
    async with served(brisk) as url, stream(url, tenant, job["id"]) as reader:
        assert await reader.next() is not None
        with pytest.raises(TimeoutError):
            await reader.next(within=0.5)
        assert reader.comments >= 2


async def test_streams_per_workspace_are_capped(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other_project = await factory.project(other.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    other_job = await submit_generation(client, other, other_project.id)
    capped = settings.model_copy(update={"events_streams_per_workspace": 2})
    async with served(capped) as url, httpx.AsyncClient(base_url=url) as plain:
        async with stream(url, tenant, job["id"]) as one, stream(url, tenant, job["id"]) as two:
            assert await one.next() is not None
            assert await two.next() is not None
            refused = await plain.get(f"/v1/jobs/{job['id']}/events", headers=tenant.headers)
            assert_error(refused, 429, "rate_limited")
            assert int(refused.headers["retry-after"]) >= 1
            # Another workspace is not affected.
            async with stream(url, other, other_job["id"]) as theirs:
                assert await theirs.next() is not None
        # Closed streams free their slots (as soon as the server sees the client go).
        path = f"/v1/jobs/{job['id']}/events"
        for _ in range(100):
            async with plain.stream("GET", path, headers=tenant.headers) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.05)
        assert again.status_code == 200


async def test_the_stream_answers_like_get_job_for_foreign_and_bad_requests(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, done = await _done_job(client, factory, settings)
    stranger = await factory.tenant()
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as plain:
        path = f"/v1/jobs/{done['id']}/events"
        assert_error(await plain.get(path, headers=stranger.headers), 404, "not_found")
        assert_error(await plain.get(path), 401, "unauthenticated")
        bad = await plain.get(path, headers={**tenant.headers, "Last-Event-ID": "abc"})
        assert_error(bad, 400, "invalid_request")
        negative = await plain.get(path, headers=tenant.headers, params={"starting_after": -1})
        assert_error(negative, 400, "invalid_request")


async def test_shutdown_ends_every_stream_with_a_status(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, job = await _queued_job(client, factory)
    app = create_app(settings)
    async with served(settings, app) as url, stream(url, tenant, job["id"]) as reader:
        assert await reader.next() is not None
        app.state.services.begin_shutdown()
        received = await reader.all()
    assert [(event.event, event.data["status"]) for event in received] == [("status", "QUEUED")]


async def test_a_stream_ends_after_its_time_and_resumes_without_a_gap(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant, job = await _queued_job(client, factory)
    short = settings.model_copy(update={"events_stream_max_seconds": 0.2})
    async with served(short) as url:
        async with stream(url, tenant, job["id"]) as reader:
            received = await reader.all()
        assert [(event.event, event.data["status"]) for event in received] == [
            ("status", "QUEUED"),
            ("status", "QUEUED"),
        ]
        async with worker_deps(settings) as deps:
            assert await run_attempt(deps, job["id"], 1) == "done"
        last = received[-1].id
        async with stream(url, tenant, job["id"], last_event_id=last) as reader:
            rest = await reader.all()
    assert rest[0].event == "status"
    assert rest[0].data["status"] == "RUNNING"
    assert rest[-1].event == "done"


async def test_every_job_says_where_to_follow_it(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """`urls` (EVENTS.md §1): the job, its cancel and its events, followed as given."""
    tenant, job = await _queued_job(client, factory)
    assert job["urls"] == {
        "get": f"/v1/jobs/{job['id']}",
        "cancel": f"/v1/jobs/{job['id']}/cancel",
        "events": f"/v1/jobs/{job['id']}/events",
    }
    fetched = await client.get(job["urls"]["get"], headers=tenant.headers)
    assert fetched.json()["data"] == job
    listed = (await client.get("/v1/jobs", headers=tenant.headers)).json()["data"]
    assert [row["urls"] for row in listed] == [job["urls"]]
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as plain:
        async with plain.stream("GET", job["urls"]["events"], headers=tenant.headers) as events:
            assert events.status_code == 200
            assert (await SseReader(events).next()) is not None
        cancelled = await plain.post(job["urls"]["cancel"], headers=tenant.headers)
    assert cancelled.json()["data"]["urls"] == job["urls"]
    assert cancelled.json()["data"]["status"] == "CANCELLED"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_five_hundred_streams_on_one_process(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """500 clients follow one job on one API process: each gets its status at once, then the
    job's end, in bounded memory (the server and the 500 clients share this process)."""
    tenant, job = await _queued_job(client, factory)
    many = settings.model_copy(
        update={"events_streams_per_workspace": 600, "events_stream_max_seconds": 60.0}
    )
    opened = asyncio.Event()
    ready = 0
    before = _rss_mb()

    async def follow(http: httpx.AsyncClient) -> list[Sse]:
        nonlocal ready
        path = f"/v1/jobs/{job['id']}/events"
        async with http.stream("GET", path, headers=tenant.headers) as response:
            assert response.status_code == 200
            reader = SseReader(response)
            first = await reader.next(within=60)
            assert first is not None
            ready += 1
            if ready == 500:
                opened.set()
            return [first, *await reader.all(within=60)]

    limits = httpx.Limits(max_connections=600, max_keepalive_connections=0)
    async with (
        served(many) as url,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http,
    ):
        followers = [asyncio.create_task(follow(http)) for _ in range(500)]
        await asyncio.wait_for(opened.wait(), 60)
        grown = _rss_mb() - before
        async with worker_deps(settings) as deps:
            assert await run_attempt(deps, job["id"], 1) == "done"
        streams = await asyncio.gather(*followers)
    assert all(events[0].data["status"] == "QUEUED" for events in streams)
    assert all(events[-1].event == "done" for events in streams)
    assert len({tuple(event.id for event in events) for events in streams}) == 1
    # What 500 open streams cost this process (server and clients both): reported, and bounded.
    print(f"500 open streams: RSS grew {grown:.1f} MB")
    assert grown < 150, grown


async def test_an_id_the_log_never_gave_gets_the_state_once_then_live_events(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """A client that sends an id beyond the log (a job queued, no event yet): the job's status
    once, numbered with the log's end, then the job's events as they come — not a loop."""
    tenant, job = await _queued_job(client, factory)
    async with served(settings) as url, stream(url, tenant, job["id"], last_event_id=7) as r:
        first = await r.next()
        assert first is not None
        assert (first.event, first.id, first.data["status"]) == ("status", 0, "QUEUED")
        async with worker_deps(settings) as deps:
            assert await run_attempt(deps, job["id"], 1) == "done"
        rest = await r.all()
    assert [event.id for event in rest] == list(range(1, len(rest) + 1))
    assert rest[0].data["status"] == "RUNNING"
    assert rest[-1].event == "done"
