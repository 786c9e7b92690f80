"""`Cancel-After` (EVENTS.md §3): a job not started by its deadline is cancelled, refunded and
never run; one already running finishes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import ProviderCall
from scripe_api.jobs.execution import run_attempt
from scripe_api.jobs.sweep import sweep
from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import (
    get_job,
    poll_job,
    posts_of_job,
    wait_for_db_clock,
    wait_for_key,
)
from tests.scripted_provider import release_key, script, started_key
from tests.spend.test_spend_cap import cents
from tests.workers_support import running_worker, worker_deps


async def submit(
    client: httpx.AsyncClient,
    tenant: Tenant,
    project_id: str,
    cancel_after: str | None,
    *,
    text: str = "Deadlines matter.",
    key: str | None = None,
) -> httpx.Response:
    headers = dict(tenant.headers)
    if cancel_after is not None:
        headers["Cancel-After"] = cancel_after
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        "/v1/posts/generations",
        headers=headers,
        json={"projectId": project_id, "source": {"text": text}},
    )


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def deadline_of(job: dict[str, Any]) -> datetime:
    return parse_timestamp(job["deadlineAt"])


async def test_the_deadline_is_on_the_job_from_the_202_on(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    accepted = (await submit(client, tenant, project.id, "5m")).json()["data"]
    assert deadline_of(accepted) - parse_timestamp(accepted["createdAt"]) == timedelta(minutes=5)
    assert await get_job(client, tenant, accepted["id"]) == accepted
    listed = (await client.get("/v1/jobs", headers=tenant.headers)).json()["data"]
    assert listed == [accepted]
    plain = (await submit(client, tenant, project.id, None)).json()["data"]
    assert plain["deadlineAt"] is None
    for value, seconds in (("30s", 30), ("2h", 7200), ("24h", 86400), ("1S", 1), (" 90m ", 5400)):
        job = (await submit(client, tenant, project.id, value)).json()["data"]
        assert deadline_of(job) - parse_timestamp(job["createdAt"]) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["0s", "25h", "86401s", "1441m", "5", "abc", "5x", "-1s", ""])
async def test_a_bad_cancel_after_is_a_400_that_creates_nothing_and_keeps_the_key_free(
    client: httpx.AsyncClient, factory: Factory, value: str
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    key = f"deadline-{uuid.uuid4().hex}"
    error = assert_error(
        await submit(client, tenant, project.id, value, key=key), 400, "invalid_request"
    )
    assert error["details"] == {"field": "Cancel-After"}
    assert (await client.get("/v1/jobs", headers=tenant.headers)).json()["data"] == []
    # The key was never claimed: the corrected request runs under it.
    accepted = await submit(client, tenant, project.id, "1m", key=key)
    assert accepted.status_code == 202
    assert accepted.headers["idempotent-replayed"] == "false"


async def test_the_deadline_is_part_of_the_idempotency_fingerprint(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await submit(client, tenant, project.id, "5m", key="with-deadline")
    same = await submit(client, tenant, project.id, "300s", key="with-deadline")
    assert same.headers["idempotent-replayed"] == "true"
    assert same.json() == first.json()
    for other in ("6m", None):
        assert_error(
            await submit(client, tenant, project.id, other, key="with-deadline"),
            409,
            "idempotency_key_conflict",
        )


async def _past_deadline(
    sessionmaker: async_sessionmaker[AsyncSession], job: dict[str, Any]
) -> None:
    await wait_for_db_clock(sessionmaker, deadline_of(job))


async def _assert_cancelled_unrun(
    client: httpx.AsyncClient,
    tenant: Tenant,
    job_id: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job = await get_job(client, tenant, job_id)
    assert (job["status"], job["errorCode"], job["attemptCount"], job["startedAt"]) == (
        "CANCELLED",
        "deadline_exceeded",
        0,
        None,
    )
    assert job["completedAt"] is not None
    assert job["errorMessage"] == "The job was not started before its deadline (Cancel-After)."
    assert job["cost"] == {
        "estimatedCents": 5,
        "reservedCents": 0,
        "actualCents": 0,
        "state": "final",
    }
    assert await posts_of_job(sessionmaker, job_id) == []
    async with sessionmaker() as session:
        calls = await session.scalar(
            select(func.count()).select_from(ProviderCall).where(ProviderCall.job_id == job_id)
        )
    assert calls == 0


async def test_a_job_delivered_after_its_deadline_is_cancelled_refunded_and_never_run(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    late = (await submit(client, tenant, project.id, "1s")).json()["data"]
    in_time = (await submit(client, tenant, project.id, "1h")).json()["data"]
    await _past_deadline(sessionmaker, late)
    async with worker_deps(settings) as deps:
        assert await run_attempt(deps, late["id"], 1) == "skipped"
        assert await run_attempt(deps, in_time["id"], 1) == "done"
    await _assert_cancelled_unrun(client, tenant, late["id"], sessionmaker)
    assert (await get_job(client, tenant, in_time["id"]))["status"] == "DONE"
    # The late job's 5¢ came back; the other job was charged what its provider billed (1¢).
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 1)


async def test_the_sweep_cancels_queued_jobs_past_their_deadline(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    late = (await submit(client, tenant, project.id, "1s")).json()["data"]
    undated = (await submit(client, tenant, project.id, None)).json()["data"]
    await _past_deadline(sessionmaker, late)
    async with worker_deps(settings) as deps:
        report = await sweep(deps)
    assert report.expired >= 1
    await _assert_cancelled_unrun(client, tenant, late["id"], sessionmaker)
    assert (await get_job(client, tenant, undated["id"]))["status"] == "QUEUED"
    assert await cents(sessionmaker, tenant.workspace.id) == (5, 0)
    # A waiting client learns of the cancel like of any end: the job is terminal.
    done = await poll_job(client, tenant.headers, late["id"])
    assert done["status"] == "CANCELLED"


async def test_a_job_running_at_its_deadline_finishes(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    job = (await submit(client, tenant, project.id, "1s", text=script(block=block))).json()["data"]
    async with running_worker(settings):
        await wait_for_key(redis, started_key(job["id"], 1))
        await _past_deadline(sessionmaker, job)
        async with worker_deps(settings) as deps:
            await sweep(deps)
        await redis.set(release_key(block), "1")
        done = await poll_job(client, tenant.headers, job["id"])
    assert (done["status"], done["errorCode"], done["attemptCount"]) == ("DONE", None, 1)
    assert done["deadlineAt"] == job["deadlineAt"]
    assert len(await posts_of_job(sessionmaker, job["id"])) == 1
