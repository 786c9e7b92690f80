"""What the idempotency tests send and read back from Postgres."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.canonical_json import canonical_json
from scripe_api.db.models import IdempotencyRecord, Job
from scripe_api.idempotency import service
from tests.factories import Tenant

GENERATIONS = "/v1/posts/generations"


def keyed(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


def generation_body(project_id: str, **extra: Any) -> dict[str, Any]:
    return {"projectId": project_id, "source": {"text": "Small teams ship faster."}, **extra}


async def generate(
    client: httpx.AsyncClient, tenant: Tenant, key: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(GENERATIONS, headers=keyed(tenant, key), json=body)


async def job_ids(sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Job.id).where(Job.workspace_id == workspace_id))
        return list(rows.all())


async def records(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> list[IdempotencyRecord]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.workspace_id == workspace_id)
        )
        return list(rows.all())


async def age_records(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, by: timedelta
) -> None:
    """Move the workspace's records back in time (the window is on the database clock)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.workspace_id == workspace_id)
            .values(created_at=IdempotencyRecord.created_at - by)
        )


async def insert_in_flight(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_id: str,
    *,
    scope: str,
    key: str,
    path: str,
    body: dict[str, Any],
    lock_seconds: float,
) -> None:
    """What a request leaves while it runs (or after it died): an in-flight claim whose lock
    ends `lock_seconds` from now (negative: already expired)."""
    async with sessionmaker() as session, session.begin():
        session.add(
            IdempotencyRecord(
                workspace_id=workspace_id,
                scope=scope,
                key=key,
                fingerprint=service.fingerprint(path, canonical_json(body)),
                state="in_flight",
                locked_until=await session.scalar(
                    select(func.now() + timedelta(seconds=lock_seconds))
                ),
            )
        )


async def complete_in_flight(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, key: str, body: str
) -> None:
    """What the original request does when it finishes: record its 201 response."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
            .values(
                state="completed",
                locked_until=None,
                response_status=201,
                response_body=body,
                response_headers={"Content-Type": "application/json"},
                completed_at=func.now(),
            )
        )
