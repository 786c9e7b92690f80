"""§4.1 `estimatedCompletionMs`: fixed at submit; 25 000 for a POST_GENERATION until there is
history, then the median duration of recent DONE live-key jobs of the type."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.db.models import Job
from tests.factories import Factory, Tenant
from tests.jobs.calls import get_job, submit_generation


async def finished_job(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, duration_ms: int, mode: str
) -> None:
    created = utc_now() - timedelta(minutes=5)
    async with sessionmaker() as session, session.begin():
        session.add(
            Job(
                id=new_id("job"),
                workspace_id=tenant.workspace.id,
                type="POST_GENERATION",
                status="DONE",
                key_mode=mode,
                input={},
                result={"postId": "post_x"},
                attempt_count=1,
                created_at=created,
                started_at=created,
                completed_at=created + timedelta(milliseconds=duration_ms),
            )
        )


async def test_estimate_defaults_then_follows_live_history(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The estimate is service-wide: start from a service whose generations never finished.
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Job).where(Job.type == "POST_GENERATION"))
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await submit_generation(client, tenant, project.id)
    assert first["estimatedCompletionMs"] == 25_000

    for duration_ms in (1_000, 4_000, 9_000):
        await finished_job(sessionmaker, tenant, duration_ms, "live")
    # Test keys' jobs run on the offline generator: they say nothing about live durations.
    for _ in range(3):
        await finished_job(sessionmaker, tenant, 100, "test")
    second = await submit_generation(client, tenant, project.id)
    assert second["estimatedCompletionMs"] == 4_000
    # Fixed at submit: later history does not change an existing job's estimate.
    assert (await get_job(client, tenant, first["id"]))["estimatedCompletionMs"] == 25_000
