"""§4.4 `POST /v1/jobs/{id}/cancel`: only QUEUED jobs; a cancel racing a claim has one winner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.jobs.execution import run_attempt
from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import (
    JOB_FIELDS,
    claim_and_die,
    get_job,
    posts_of_job,
    submit_generation,
)
from tests.workers_support import worker_deps

T = TypeVar("T")
CANCEL_SCOPES = ("jobs:write", "posts:write", "knowledge:write", "sources:write")


async def cancel(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> httpx.Response:
    return await client.post(f"/v1/jobs/{job_id}/cancel", headers=headers)


async def after(delay: float, work: Awaitable[T]) -> T:
    await asyncio.sleep(delay)
    return await work


async def queued_job(client: httpx.AsyncClient, factory: Factory) -> tuple[Tenant, str]:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    return tenant, job["id"]


@pytest.mark.smoke
async def test_cancel_of_a_queued_job(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant, job_id = await queued_job(client, factory)
    response = await cancel(client, tenant.headers, job_id)
    assert response.status_code == 200, response.text
    job = response.json()["data"]
    assert set(job) == JOB_FIELDS
    assert job["status"] == "CANCELLED"
    assert job["completedAt"] is not None
    assert job["startedAt"] is None
    assert job["attemptCount"] == 0
    assert job["progress"] is None
    assert job["result"] is None
    assert await get_job(client, tenant, job_id) == job
    # A cancelled job is never run, even when its queue entry is delivered.
    async with worker_deps(settings) as deps:
        assert await run_attempt(deps, job_id, 1) == "skipped"
    assert (await get_job(client, tenant, job_id))["status"] == "CANCELLED"
    assert await posts_of_job(sessionmaker, job_id) == []


async def test_only_queued_jobs_can_be_cancelled(
    database: Database,
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    running, done, cancelled = [
        (await submit_generation(client, tenant, project.id))["id"] for _ in range(3)
    ]
    assert await claim_and_die(database, running, 1, timedelta(minutes=1))
    async with worker_deps(settings) as deps:
        assert await run_attempt(deps, done, 1) == "done"
    assert (await cancel(client, tenant.headers, cancelled)).status_code == 200
    for job_id, status in ((running, "RUNNING"), (done, "DONE"), (cancelled, "CANCELLED")):
        before = await get_job(client, tenant, job_id)
        error = assert_error(await cancel(client, tenant.headers, job_id), 409, "not_cancellable")
        assert error["message"] == (
            f"Job is in '{status}'; only QUEUED jobs can be cancelled in v1."
        )
        assert await get_job(client, tenant, job_id) == before


async def test_cancel_of_an_unknown_or_foreign_job_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, job_id = await queued_job(client, factory)
    stranger = await factory.tenant()
    assert_error(await cancel(client, owner.headers, "job_unknown"), 404, "not_found")
    assert_error(await cancel(client, stranger.headers, job_id), 404, "not_found")
    assert (await get_job(client, owner, job_id))["status"] == "QUEUED"


@pytest.mark.parametrize("scope", CANCEL_SCOPES)
async def test_each_write_scope_may_cancel(
    client: httpx.AsyncClient, factory: Factory, scope: str
) -> None:
    tenant, job_id = await queued_job(client, factory)
    key = await factory.key(tenant.workspace.id, (scope,))
    response = await cancel(client, {"Authorization": f"Bearer {key.secret}"}, job_id)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "CANCELLED"


async def test_read_scopes_may_not_cancel(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant, job_id = await queued_job(client, factory)
    key = await factory.key(tenant.workspace.id, ("jobs:read", "posts:read", "notes:write"))
    error = assert_error(
        await cancel(client, {"Authorization": f"Bearer {key.secret}"}, job_id),
        403,
        "scope_missing",
    )
    assert error["details"] == {"required": list(CANCEL_SCOPES)}
    assert (await get_job(client, tenant, job_id))["status"] == "QUEUED"


async def test_cancel_racing_the_claim_has_exactly_one_winner(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with worker_deps(settings) as deps:
        for iteration in range(30):
            job_id = (await submit_generation(client, tenant, project.id))["id"]
            # Stagger the two sides differently each time (up to 10 ms either way) so both
            # interleavings — and the tight ones in between — are exercised.
            head_start = (iteration % 11 - 5) * 0.002
            outcome, cancelled = await asyncio.gather(
                after(max(head_start, 0), run_attempt(deps, job_id, 1)),
                after(max(-head_start, 0), cancel(client, tenant.headers, job_id)),
            )
            job = await get_job(client, tenant, job_id)
            posts = await posts_of_job(sessionmaker, job_id)
            if cancelled.status_code == 200:
                assert outcome == "skipped"
                assert job["status"] == "CANCELLED", job
                assert job["attemptCount"] == 0
                assert posts == []
            else:
                assert_error(cancelled, 409, "not_cancellable")
                assert outcome == "done"
                assert job["status"] == "DONE", job
                assert job["attemptCount"] == 1
                assert [post.id for post in posts] == [job["result"]["postId"]]
