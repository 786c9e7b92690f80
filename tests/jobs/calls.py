"""What a client does with jobs (submit, poll, cancel), and what tests read back from Postgres."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Post
from scripe_api.db.pool import Database
from scripe_api.jobs import repository
from tests.factories import Tenant

TERMINAL = frozenset({"DONE", "FAILED", "CANCELLED"})
# The Job object's fields (§4.1), exactly.
JOB_FIELDS = {
    "id",
    "type",
    "status",
    "projectId",
    "startedAt",
    "completedAt",
    "progress",
    "result",
    "errorCode",
    "errorMessage",
    "attemptCount",
    "estimatedCompletionMs",
    "deadlineAt",
    "cost",
    "urls",
    "createdAt",
    "updatedAt",
}


async def send_json(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: object
) -> httpx.Response:
    """`body` as ASCII JSON with \\u escapes, as any client may write it (httpx's own encoder
    writes raw UTF-8, which cannot carry a lone surrogate)."""
    return await client.request(
        method,
        path,
        headers={**headers, "Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    )


async def submit_generation(
    client: httpx.AsyncClient,
    tenant: Tenant,
    project_id: str,
    text: str = "We shipped a thing. It was hard.",
    **extra: Any,
) -> dict[str, Any]:
    """POST /v1/posts/generations from `text`; returns the 202's Job."""
    body = {"projectId": project_id, "source": {"text": text}, **extra}
    response = await client.post("/v1/posts/generations", headers=tenant.headers, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def get_job(client: httpx.AsyncClient, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def poll_job(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    job_id: str,
    *,
    until: frozenset[str] | set[str] = TERMINAL,
    within: float = 15.0,
) -> dict[str, Any]:
    """GET the job about every 50 ms until its status is in `until` (fails after `within` s)."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job['status']}: {job}"
        await asyncio.sleep(0.05)


async def wait_for_key(redis: Redis, key: str, *, within: float = 15.0) -> None:
    """Until `key` exists in Redis (a scripted provider marks the attempts it starts)."""
    deadline = time.monotonic() + within
    while not await redis.exists(key):
        assert time.monotonic() < deadline, f"{key} never appeared"
        await asyncio.sleep(0.02)


async def wait_for_db_clock(
    sessionmaker: async_sessionmaker[AsyncSession], moment: datetime, *, within: float = 10.0
) -> None:
    """Until the database clock (the one schedules are checked against) has passed `moment`."""
    deadline = time.monotonic() + within
    while True:
        async with sessionmaker() as session:
            now = await session.scalar(select(func.now()))
        assert now is not None
        if now > moment:
            return
        assert time.monotonic() < deadline, f"database clock never passed {moment}"
        await asyncio.sleep(0.02)


async def posts_of_job(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> list[Post]:
    """Every post row the job wrote (the table itself, not the API's view)."""
    async with sessionmaker() as session:
        return list((await session.scalars(select(Post).where(Post.job_id == job_id))).all())


async def claim_and_die(database: Database, job_id: str, attempt: int, lease: timedelta) -> bool:
    """What a worker that dies right after claiming leaves behind: the claim, committed, and
    never a heartbeat. False when the claim did not match (status, attempt or lease)."""
    async with database.connection() as connection:
        claimed = await repository.claim_attempts(
            connection, [(job_id, attempt)], lease.total_seconds()
        )
    return job_id in claimed
