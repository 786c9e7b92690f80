"""§4.2 retries: transient provider failures are retried (at most 3 attempts), permanent ones
fail the job at once; the job ends with the last failure's code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import poll_job, posts_of_job, submit_generation
from tests.scripted_provider import script
from tests.workers_support import running_worker


async def run_to_the_end(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, source: str
) -> dict[str, Any]:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id, source)
    async with running_worker(settings):
        return await poll_job(client, tenant.headers, job["id"])


async def test_transient_failures_are_retried_until_done(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    source = script(fail=["provider_timeout", "provider_timeout"])
    job = await run_to_the_end(client, factory, settings, source)
    assert job["status"] == "DONE", job
    assert job["attemptCount"] == 3
    assert job["errorCode"] is None
    assert job["errorMessage"] is None
    posts = await posts_of_job(sessionmaker, job["id"])
    assert [post.id for post in posts] == [job["result"]["postId"]]
    assert "Attempt 3." in posts[0].content


@pytest.mark.parametrize("code", ["provider_rate_limited", "provider_error", "provider_timeout"])
async def test_three_transient_failures_fail_the_job_with_the_last_code(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    code: str,
) -> None:
    job = await run_to_the_end(client, factory, settings, script(fail=[code] * 3))
    assert job["status"] == "FAILED", job
    assert job["attemptCount"] == 3
    assert job["errorCode"] == code
    assert job["errorMessage"]
    assert job["result"] is None
    assert job["completedAt"] is not None
    assert await posts_of_job(sessionmaker, job["id"]) == []


async def test_a_database_outage_mid_attempt_is_retried_not_failed(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job = await run_to_the_end(client, factory, settings, script(database_down=[1]))
    assert job["status"] == "DONE", job
    assert job["attemptCount"] == 2
    assert len(await posts_of_job(sessionmaker, job["id"])) == 1


async def test_permanent_failure_fails_at_once(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job = await run_to_the_end(client, factory, settings, script(permanent="content_rejected"))
    assert job["status"] == "FAILED", job
    assert job["attemptCount"] == 1
    assert job["errorCode"] == "content_rejected"
    assert job["errorMessage"]
    assert await posts_of_job(sessionmaker, job["id"]) == []
