"""§4.3 progress: live on GET /v1/jobs/{id} while RUNNING, null when QUEUED, finished or listed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Job
from scripe_api.db.pool import Database
from scripe_api.jobs.progress import progress_key, snapshot
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually
from tests.conftest import make_settings
from tests.factories import Factory
from tests.jobs.calls import (
    claim_and_die,
    get_job,
    poll_job,
    submit_generation,
    wait_for_key,
)
from tests.scripted_provider import release_key, script, started_key
from tests.workers_support import running_worker


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


async def lease_of(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> object:
    async with sessionmaker() as session:
        return await session.scalar(select(Job.lease_expires_at).where(Job.id == job_id))


async def test_running_job_shows_live_progress_and_finished_job_none(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    job = await submit_generation(client, tenant, project.id, script(block=block))
    assert job["progress"] is None
    async with running_worker(settings):
        await wait_for_key(redis, started_key(job["id"], 1))
        # The scripted provider reports this once it has started; snapshots written in quick
        # succession are coalesced, the latest one lands within a tenth of a second.
        running = await eventually(
            lambda: get_job(client, tenant, job["id"]),
            lambda job: (job["progress"] or {}).get("message") == "Generating post",
        )
        assert running["status"] == "RUNNING"
        progress = running["progress"]
        assert set(progress) == {"progress", "message", "updatedAt"}
        assert 0 < progress["progress"] < 1
        assert parse(running["updatedAt"]) >= parse(progress["updatedAt"])
        assert running["startedAt"] is not None
        # Heartbeats renew the lease behind the scenes; nothing a client sees changes.
        lease = await lease_of(sessionmaker, job["id"])
        await eventually(lambda: lease_of(sessionmaker, job["id"]), lambda later: later != lease)
        assert await get_job(client, tenant, job["id"]) == running
        listed = await client.get("/v1/jobs", headers=tenant.headers)
        assert [item["id"] for item in listed.json()["data"]] == [job["id"]]
        assert listed.json()["data"][0]["status"] == "RUNNING"
        assert listed.json()["data"][0]["progress"] is None
        await redis.set(release_key(block), "1")
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["progress"] is None
    listed = await client.get("/v1/jobs", headers=tenant.headers)
    assert listed.json()["data"][0]["progress"] is None


async def test_progress_is_null_while_redis_is_down(
    database: Database,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    server_urls: tuple[str, str],
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    assert await claim_and_die(database, job["id"], 1, timedelta(minutes=1))
    await redis.set(progress_key(job["id"]), snapshot(0.4, "Drafting hook"), ex=60)
    assert (await get_job(client, tenant, job["id"]))["progress"] is not None
    without_redis = create_app(make_settings(server_urls[0], "redis://127.0.0.1:1/0"))
    async with serve(without_redis) as api:
        response = await api.get(f"/v1/jobs/{job['id']}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    running = response.json()["data"]
    assert running["status"] == "RUNNING"
    assert running["progress"] is None
