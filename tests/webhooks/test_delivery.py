"""Webhook delivery (WEBHOOKS.md §2, §3) to real receivers on loopback: events written with the
changes they report, signed per Standard Webhooks (verified with the `standardwebhooks`
package), retried on the schedule, and visible and recoverable in the delivery log."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth.principal import Principal
from scripe_api.db.models import WebhookEvent
from scripe_api.db.pool import Database
from scripe_api.db.transaction import UnitOfWork
from scripe_api.notes import service as notes
from scripe_api.notes.schemas import NoteCreate
from scripe_api.observability.metrics import REGISTRY
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import poll_job, submit_generation
from tests.scripted_provider import script
from tests.webhooks.receiver import Received, receiving
from tests.webhooks.support import (
    create_endpoint,
    create_note,
    deliveries,
    service,
    wait_for_deliveries,
)
from tests.workers_support import worker_deps
from workers.jobs.purge_webhooks import purge_webhooks

JOB_EVENTS = ["job.completed", "job.failed", "post.created", "knowledge.indexed"]


async def test_job_and_post_events_carry_the_resources_as_their_gets_return_them(
    settings: Settings, factory: Factory, redis: Redis
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with receiving() as receiver, service(settings) as client:
        endpoint = await create_endpoint(client, tenant, receiver.url, JOB_EVENTS)
        done = await submit_generation(client, tenant, project.id)
        failed = await submit_generation(
            client, tenant, project.id, text=script(permanent="content_rejected")
        )
        ingest = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={
                "type": "text",
                "name": "Rituals",
                "projectId": project.id,
                "text": "We ship on Tuesdays.",
            },
        )
        assert ingest.status_code == 202, ingest.text
        for job in (done, failed, ingest.json()["data"]):
            await poll_job(client, tenant.headers, job["id"])
        requests = await receiver.wait_for(lambda got: len(got) >= 5)

        by_type: dict[str, list[Received]] = {}
        for request in requests:
            payload = request.verify(endpoint["secret"])
            assert payload == request.event
            by_type.setdefault(payload["type"], []).append(request)
            assert request.headers["content-type"] == "application/json"
            assert request.headers["user-agent"].startswith("scripe-webhooks/")
            assert request.webhook_id.startswith("msg_")
            assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert sorted(by_type) == [
            "job.completed",
            "job.failed",
            "knowledge.indexed",
            "post.created",
        ]
        assert len(by_type["job.completed"]) == 2  # the generation and the ingest

        completed = {r.event["data"]["id"]: r.event["data"] for r in by_type["job.completed"]}
        for job_id, data in completed.items():
            current = (await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)).json()
            assert data == current["data"]
            assert data["cost"]["state"] in ("final", "none")
        assert completed[done["id"]]["cost"]["state"] == "final"
        failed_event = by_type["job.failed"][0].event["data"]
        assert failed_event["id"] == failed["id"]
        assert failed_event["errorCode"] == "content_rejected"
        indexed = by_type["knowledge.indexed"][0].event["data"]
        assert indexed["id"] == ingest.json()["data"]["id"]
        assert indexed["status"] == "DONE"

        post_event = by_type["post.created"][0].event
        post_id = completed[done["id"]]["result"]["postId"]
        post = (await client.get(f"/v1/posts/{post_id}", headers=tenant.headers)).json()["data"]
        assert post_event["data"] == post
        assert datetime.fromisoformat(post_event["timestamp"]) <= datetime.now(UTC)

        log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded", 5)
        assert {one["eventId"] for one in log} == {r.webhook_id for r in requests}
        assert all(one["attempts"] == 1 and one["lastResponseStatus"] == 204 for one in log)
        # The worker's metrics count them, and time this endpoint's answers.
        timed = {"endpoint": endpoint["id"]}
        deadline = time.monotonic() + 5
        while (REGISTRY.get_sample_value("scripe_webhook_response_seconds_count", timed) or 0) < 5:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        succeeded = {"outcome": "succeeded"}
        assert (REGISTRY.get_sample_value("scripe_webhook_deliveries_total", succeeded) or 0) >= 5


async def test_post_and_note_events_from_the_api(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other_project = await factory.project(tenant.workspace.id, name="Other")
    events = ["note.created", "post.created", "post.updated", "post.scheduled", "post.unscheduled"]
    async with receiving() as receiver, service(settings) as client:
        endpoint = await create_endpoint(client, tenant, receiver.url, events, projectId=project.id)
        await create_note(client, tenant, other_project.id)  # another project: not sent
        note = await create_note(client, tenant, project.id)
        created = await client.post(
            "/v1/posts", headers=tenant.headers, json={"projectId": project.id, "content": "Hi"}
        )
        post = created.json()["data"]
        later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        path = f"/v1/posts/{post['id']}"
        await client.patch(path, headers=tenant.headers, json={"content": "Hello"})
        await client.patch(path, headers=tenant.headers, json={"scheduledFor": later})
        final = await client.patch(path, headers=tenant.headers, json={"scheduledFor": None})
        requests = await receiver.wait_for(lambda got: len(got) >= 7)
        await asyncio.sleep(0)  # nothing more than the seven should come (checked by the log)
        types = sorted(r.verify(endpoint["secret"])["type"] for r in requests)
        assert types == sorted(
            [
                "note.created",
                "post.created",
                "post.updated",
                "post.updated",
                "post.scheduled",
                "post.updated",
                "post.unscheduled",
            ]
        )
        assert [r.event["data"] for r in requests if r.event["type"] == "note.created"] == [note]
        unscheduled = next(r for r in requests if r.event["type"] == "post.unscheduled")
        assert unscheduled.event["data"] == final.json()["data"]
        log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded", 7)
        assert len(log) == 7


async def test_a_change_that_rolls_back_sends_nothing(
    settings: Settings,
    factory: Factory,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with receiving() as receiver, service(settings) as client:
        endpoint = await create_endpoint(client, tenant, receiver.url, ["note.created"])
        principal = _principal(tenant.workspace.id)
        uow = UnitOfWork(database, tenant.workspace.id)
        # The note and its event are written; then the request fails and rolls back.
        await notes.create_note(
            uow, principal, NoteCreate(projectId=project.id, content="Never saved")
        )
        await uow.rollback()
        await create_note(client, tenant, project.id)  # a committed one is sent
        requests = await receiver.wait_for(lambda got: len(got) >= 1)
        assert [r.event["data"]["content"] for r in requests] == ["An idea"]
        async with sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.workspace_id == tenant.workspace.id)
            )
        assert count == 1
        assert len(await deliveries(client, tenant, endpoint["id"])) == 1


def _principal(workspace_id: str) -> Principal:
    return Principal(
        key_id="key_test",
        workspace_id=workspace_id,
        workspace_name="Acme",
        plan="ADVANCED",
        scopes=frozenset({"notes:write"}),
        mode="live",
    )


async def test_events_past_the_retention_go_with_their_deliveries(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with receiving() as receiver, service(settings) as client:
        endpoint = await create_endpoint(client, tenant, receiver.url, ["note.created"])
        await create_note(client, tenant, project.id)
        await create_note(client, tenant, project.id)
        log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded", 2)
        old, recent = log[1], log[0]
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE webhook_events SET created_at = now() - interval '31 days' "
                    "WHERE id = :id"
                ),
                {"id": old["eventId"]},
            )
        async with worker_deps(settings) as deps:
            assert await purge_webhooks({"deps": deps}) == 1
        kept = await deliveries(client, tenant, endpoint["id"])
    assert [one["id"] for one in kept] == [recent["id"]]
