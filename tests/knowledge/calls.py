"""What a client does with the knowledge base, and what tests read back from Postgres."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import KnowledgeChunk
from tests.factories import Tenant


async def post_knowledge(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/knowledge", headers=tenant.headers, json=body)


async def submit_text(
    client: httpx.AsyncClient,
    tenant: Tenant,
    text: str,
    *,
    name: str = "Notes",
    project_id: str | None = None,
) -> dict[str, Any]:
    """POST /v1/knowledge with a text document; returns the 202's Job."""
    body: dict[str, Any] = {"type": "text", "name": name, "text": text}
    if project_id is not None:
        body["projectId"] = project_id
    response = await post_knowledge(client, tenant, body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def chunks_of(
    sessionmaker: async_sessionmaker[AsyncSession], document_id: str
) -> list[KnowledgeChunk]:
    async with sessionmaker() as session:
        statement = (
            select(KnowledgeChunk)
            .where(KnowledgeChunk.document_id == document_id)
            .order_by(KnowledgeChunk.position)
        )
        return list((await session.scalars(statement)).all())
