"""§5 `wait_for_completion_ms`: the request answers as soon as the job is terminal, or with the
current state at the deadline — the same 202 Job envelope either way."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from scripe_api.jobs.notifications import CHANNEL
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually
from tests.factories import Factory, Tenant
from tests.jobs.calls import JOB_FIELDS, get_job
from tests.workers_support import running_worker

PATH = "/v1/posts/generations"


async def generate(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, wait_ms: Any
) -> httpx.Response:
    return await client.post(
        PATH,
        headers=tenant.headers,
        json={
            "projectId": project_id,
            "source": {"text": "Small teams ship faster."},
            "wait_for_completion_ms": wait_ms,
        },
    )


@pytest.mark.smoke
# JSON Schema counts 10000.0 as an integer: it waits like 10000 (1.5 stays a 400).
@pytest.mark.parametrize("wait_ms", [10_000, 10_000.0], ids=["integer", "whole float"])
async def test_fast_job_is_done_in_the_same_response(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, wait_ms: float
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with running_worker(settings):
        response = await generate(client, tenant, project.id, wait_ms)
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert set(job) == JOB_FIELDS
    assert job["status"] == "DONE", job
    assert job["attemptCount"] == 1
    assert job["progress"] is None
    assert job["completedAt"] is not None
    assert set(job["result"]) == {"postId"}
    post = await client.get(f"/v1/posts/{job['result']['postId']}", headers=tenant.headers)
    assert post.status_code == 200, post.text
    assert await get_job(client, tenant, job["id"]) == job


async def test_a_heartbeat_racing_the_finish_cancels_no_announcement(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, redis: Redis
) -> None:
    """A lease renewal that lands just after the attempt's DONE commit finds the job no longer
    held; it must not cancel the attempt's announcement of the end (waiting requests would sit
    until their deadline). Heartbeats every few milliseconds make the race likely on every
    job: each finished job is still announced on the completion channel."""
    tenant = await factory.tenant(plan="ENTERPRISE")
    project = await factory.project(tenant.workspace.id)
    racing = settings.model_copy(update={"job_heartbeat_seconds": 0.003})
    announced: set[str] = set()
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        async with running_worker(racing):
            answers = await asyncio.gather(
                *(generate(client, tenant, project.id, 0) for _ in range(40))
            )
            jobs = {answer.json()["data"]["id"] for answer in answers}
            deadline = time.monotonic() + 30
            while not jobs <= announced and time.monotonic() < deadline:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    announced.add(message["data"].decode())
    assert jobs - announced == set()
    for job_id in jobs:
        assert (await get_job(client, tenant, job_id))["status"] == "DONE"


async def test_deadline_answers_with_the_queued_job(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    started = time.monotonic()
    waited = await generate(client, tenant, project.id, 300)
    elapsed = time.monotonic() - started
    assert waited.status_code == 202, waited.text
    assert 0.3 <= elapsed < 3, elapsed
    at_once = await generate(client, tenant, project.id, 0)
    assert at_once.status_code == 202, at_once.text
    for response in (waited, at_once):
        assert set(response.json()) == {"data"}
        job = response.json()["data"]
        assert set(job) == JOB_FIELDS
        assert job["status"] == "QUEUED"
        assert job["attemptCount"] == 0
        assert job["progress"] is None


async def test_wait_above_the_maximum_is_clamped_and_woken_by_a_cancel(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    # No worker runs: only the cancel below can end this wait before its (clamped) deadline.
    waiting = asyncio.create_task(generate(client, tenant, project.id, 3_600_000))

    async def submitted() -> list[dict[str, Any]]:
        listed = await client.get("/v1/jobs", headers=tenant.headers)
        data: list[dict[str, Any]] = listed.json()["data"]
        return data

    jobs = await eventually(submitted, lambda data: len(data) == 1)
    assert not waiting.done()
    cancelled = await client.post(f"/v1/jobs/{jobs[0]['id']}/cancel", headers=tenant.headers)
    assert cancelled.status_code == 200, cancelled.text
    response = await asyncio.wait_for(waiting, timeout=3)
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["id"] == jobs[0]["id"]
    assert job["status"] == "CANCELLED"
    assert job == cancelled.json()["data"]


async def test_wait_is_clamped_to_the_configured_maximum(
    factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    # The same clamp as the default 25 s, made short enough to observe.
    app = create_app(settings.model_copy(update={"wait_max_ms": 300}))
    async with serve(app) as client:
        started = time.monotonic()
        response = await generate(client, tenant, project.id, 3_600_000)
        elapsed = time.monotonic() - started
    assert response.status_code == 202, response.text
    assert response.json()["data"]["status"] == "QUEUED"
    assert 0.3 <= elapsed < 3, elapsed


async def test_a_database_outage_during_the_wait_answers_the_committed_job(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    app = create_app(settings)
    # The job commits through the service's own pool; the wait's reads then find no database
    # (a real refused connection: nothing listens on that port).
    unreachable = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:9/gone", connect_args={"timeout": 1}
    )
    resources = app.state.services.resources
    resources.read_sessionmaker = async_sessionmaker(unreachable, expire_on_commit=False)
    try:
        async with serve(app) as client:
            response = await generate(client, tenant, project.id, 2_000)
    finally:
        await unreachable.dispose()
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["status"] == "QUEUED"
    assert job["completedAt"] is None


async def test_prefer_wait_is_the_standard_spelling_of_the_wait(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """RFC 7240 `Prefer: wait=N`: waits like wait_for_completion_ms = N s (clamped to 25) and
    says so in `Preference-Applied`; the body field wins when both are sent; a preference the
    server cannot read is ignored."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "source": {"text": "Small teams ship faster."}}

    async def submit(prefer: str, **extra: object) -> httpx.Response:
        headers = {**tenant.headers, "Prefer": prefer}
        response = await client.post(PATH, headers=headers, json={**body, **extra})
        assert response.status_code == 202, response.text
        return response

    async with running_worker(settings):
        waited = await submit("respond-async, wait=10")
        clamped = await submit('wait="600"; foo=bar')
        body_wins = await submit("wait=10", wait_for_completion_ms=0)
        unreadable = await submit("wait=soon, handling=lenient")
    assert waited.json()["data"]["status"] == "DONE"
    assert waited.headers["preference-applied"] == "wait=10"
    assert clamped.json()["data"]["status"] == "DONE"
    assert clamped.headers["preference-applied"] == "wait=25"
    for answer in (body_wins, unreadable):
        assert "preference-applied" not in answer.headers
        assert answer.json()["data"]["status"] == "QUEUED"


async def test_prefer_wait_applies_to_knowledge_ingest_too(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    """Every job-submitting POST takes `Prefer: wait=N`; knowledge has no body field for it."""
    tenant = await factory.tenant()
    async with running_worker(settings):
        response = await client.post(
            "/v1/knowledge",
            headers={**tenant.headers, "Prefer": "wait=10"},
            json={"type": "text", "name": "Handbook", "text": "Deploy on Tuesdays."},
        )
    assert response.status_code == 202, response.text
    assert response.json()["data"]["status"] == "DONE"
    assert response.headers["preference-applied"] == "wait=10"
