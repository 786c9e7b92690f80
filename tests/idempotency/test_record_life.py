"""The record's life (§3): the 24 h window, the purge, and duplicates of a request in flight."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error
from tests.factories import Factory
from tests.idempotency.records import (
    age_records,
    complete_in_flight,
    insert_in_flight,
    keyed,
    records,
)
from tests.workers_support import worker_deps
from workers.jobs.purge_idempotency import purge_idempotency

NOTES = "/v1/notes"


async def test_expired_record_counts_as_absent_and_is_purged(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await client.post(
        NOTES, headers=keyed(tenant, "old"), json={"projectId": project.id, "content": "One"}
    )
    assert first.status_code == 200, first.text
    await age_records(sessionmaker, tenant.workspace.id, timedelta(hours=25))

    reused = await client.post(
        NOTES, headers=keyed(tenant, "old"), json={"projectId": project.id, "content": "Two"}
    )
    assert reused.status_code == 200, reused.text
    assert reused.headers["idempotent-replayed"] == "false"
    assert reused.json()["data"]["id"] != first.json()["data"]["id"]
    [record] = await records(sessionmaker, tenant.workspace.id)
    assert record.state == "completed"

    async with worker_deps(settings) as deps:
        # The purge is global (other tests' records may go too): what counts is this tenant's.
        await purge_idempotency({"deps": deps})
        assert len(await records(sessionmaker, tenant.workspace.id)) == 1, "young records stay"
        await age_records(sessionmaker, tenant.workspace.id, timedelta(hours=24, seconds=1))
        assert await purge_idempotency({"deps": deps}) >= 1
    assert await records(sessionmaker, tenant.workspace.id) == []


async def test_claim_of_a_dead_request_is_taken_over(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "content": "Retry after a crash"}
    await insert_in_flight(
        sessionmaker,
        tenant.workspace.id,
        scope=f"POST {NOTES}",
        key="crash",
        path=NOTES,
        body=body,
        lock_seconds=-1,
    )
    response = await client.post(NOTES, headers=keyed(tenant, "crash"), json=body)
    assert response.status_code == 200, response.text
    assert response.headers["idempotent-replayed"] == "false"
    [record] = await records(sessionmaker, tenant.workspace.id)
    assert record.state == "completed"
    assert record.response_status == 200


async def test_duplicate_of_a_live_request_waits_then_is_in_use(
    factory: Factory, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "content": "Still running"}
    await insert_in_flight(
        sessionmaker,
        tenant.workspace.id,
        scope=f"POST {NOTES}",
        key="busy",
        path=NOTES,
        body=body,
        lock_seconds=30,
    )
    app = create_app(settings.model_copy(update={"idempotency_wait_seconds": 0.3}))
    async with serve(app) as client:
        started = time.monotonic()
        response = await client.post(NOTES, headers=keyed(tenant, "busy"), json=body)
        elapsed = time.monotonic() - started
    assert_error(response, 409, "idempotency_key_in_use")
    assert response.headers["retry-after"] == "1"
    assert 0.3 <= elapsed < 3, elapsed
    [record] = await records(sessionmaker, tenant.workspace.id)
    assert record.state == "in_flight", "the duplicate never runs the operation"


async def test_duplicate_replays_once_the_original_completes(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "content": "Almost done"}
    await insert_in_flight(
        sessionmaker,
        tenant.workspace.id,
        scope=f"POST {NOTES}",
        key="soon",
        path=NOTES,
        body=body,
        lock_seconds=30,
    )
    waiting = asyncio.create_task(client.post(NOTES, headers=keyed(tenant, "soon"), json=body))
    # While the original holds a live lock, the duplicate does not answer.
    done, _ = await asyncio.wait({waiting}, timeout=0.3)
    assert not done
    original = '{"data": {"id": "note_original"}}'
    await complete_in_flight(sessionmaker, tenant.workspace.id, "soon", original)
    response = await asyncio.wait_for(waiting, timeout=5)
    assert response.status_code == 201, response.text
    assert response.headers["idempotent-replayed"] == "true"
    assert response.content == original.encode()
