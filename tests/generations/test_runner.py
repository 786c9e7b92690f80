"""What a POST_GENERATION job produces once a worker runs it: the post, its status and schedule,
the source it was written from, and the jobs that fail before any post exists."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import format_timestamp
from scripe_api.db.models import Project
from scripe_api.settings import Settings
from tests.clock import db_now
from tests.factories import Factory, Tenant
from tests.jobs.calls import (
    poll_job,
    posts_of_job,
    submit_generation,
    wait_for_db_clock,
)
from tests.workers_support import running_worker

SOURCE = (
    "Our deploys used to take an hour. We split the monolith's test suite by ownership. "
    "Now every team ships before lunch, and nobody waits on a release train."
)


async def read_post(client: httpx.AsyncClient, tenant: Tenant, post_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/posts/{post_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    post: dict[str, Any] = response.json()["data"]
    return post


async def database_now_plus(
    sessionmaker: async_sessionmaker[AsyncSession], delta: timedelta
) -> str:
    return format_timestamp(await db_now(sessionmaker) + delta)


async def test_done_job_names_a_draft_post(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(
        client, tenant, project.id, SOURCE, options={"contentType": "EDUCATIONAL"}
    )
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["result"] == {"postId": done["result"]["postId"]}
    assert done["errorCode"] is None
    assert done["startedAt"] is not None
    assert done["completedAt"] >= done["startedAt"]
    post = await read_post(client, tenant, done["result"]["postId"])
    assert post["status"] == "draft"
    assert post["scheduledAt"] is None
    assert post["projectId"] == project.id
    assert post["platform"] == "LINKEDIN"
    assert post["contentType"] == "EDUCATIONAL"
    assert post["content"].startswith(f"Scripted post for {job['id']}.")
    assert SOURCE in post["content"]
    assert [row.id for row in await posts_of_job(sessionmaker, job["id"])] == [post["id"]]


async def test_future_schedule_makes_a_scheduled_post(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    scheduled_for = await database_now_plus(sessionmaker, timedelta(days=3))
    # Any offset names the same instant; the API answers in UTC.
    elsewhere = datetime.fromisoformat(scheduled_for).astimezone(timezone(timedelta(hours=2)))
    job = await submit_generation(
        client, tenant, project.id, SOURCE, scheduledFor=elsewhere.isoformat()
    )
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["result"] == {"postId": done["result"]["postId"]}
    post = await read_post(client, tenant, done["result"]["postId"])
    assert post["status"] == "scheduled"
    assert post["scheduledAt"] == scheduled_for


async def test_schedule_that_passed_while_queued_makes_a_draft(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    scheduled_for = await database_now_plus(sessionmaker, timedelta(milliseconds=400))
    job = await submit_generation(client, tenant, project.id, SOURCE, scheduledFor=scheduled_for)
    # No worker runs until the schedule has passed (by the clock the worker checks).
    await wait_for_db_clock(sessionmaker, datetime.fromisoformat(scheduled_for))
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["result"] == {"postId": done["result"]["postId"], "scheduleSkipped": True}
    post = await read_post(client, tenant, done["result"]["postId"])
    assert post["status"] == "draft"
    assert post["scheduledAt"] is None


async def test_generation_from_a_note_uses_its_text(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    note = await client.post(
        "/v1/notes", headers=tenant.headers, json={"projectId": project.id, "content": SOURCE}
    )
    assert note.status_code == 200, note.text
    response = await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"noteId": note.json()["data"]["id"]}},
    )
    assert response.status_code == 202, response.text
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, response.json()["data"]["id"])
    assert done["status"] == "DONE", done
    post = await read_post(client, tenant, done["result"]["postId"])
    assert post["content"].endswith(f"Source: {SOURCE}")


async def test_project_no_longer_active_fails_the_job(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id, SOURCE)
    # Paused between submit and run (projects are managed from the CLI, not the API).
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Project).where(Project.id == project.id).values(status="PAUSED")
        )
    async with running_worker(settings):
        failed = await poll_job(client, tenant.headers, job["id"])
    assert failed["status"] == "FAILED", failed
    assert failed["errorCode"] == "project_unavailable"
    assert "PAUSED" in failed["errorMessage"]
    assert failed["attemptCount"] == 1
    assert failed["result"] is None
    assert await posts_of_job(sessionmaker, job["id"]) == []


async def test_test_keys_run_on_the_offline_generator(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant(mode="test")
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id, SOURCE)
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    post = await read_post(client, tenant, done["result"]["postId"])
    assert post["status"] == "draft"
    assert "Scripted post" not in post["content"]
    assert "Source:" not in post["content"]
    # The offline generator writes from the source's own sentences.
    assert "release train" in post["content"]
