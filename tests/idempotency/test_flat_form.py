"""§3 with INGEST.md §5: the flat generation form is the same request as the canonical form it
stands for — one fingerprint, so the same Idempotency-Key replays across the two spellings."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.assertions import assert_error
from tests.factories import Factory
from tests.idempotency.records import generate, generation_body, job_ids, records

TEXT = "Small teams ship faster."


async def test_flat_then_canonical_with_one_key_is_a_replay(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    flat = {"projectId": project.id, "text": TEXT, "options": {"length": "short"}}
    first = await generate(client, tenant, "flat-1", flat)
    assert first.status_code == 202, first.text
    assert first.headers["idempotent-replayed"] == "false"

    canonical = generation_body(project.id, options={"length": "short"})
    assert canonical["source"] == {"text": TEXT}
    for body in (canonical, flat):
        again = await generate(client, tenant, "flat-1", body)
        assert again.status_code == 202, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
    assert await job_ids(sessionmaker, tenant.workspace.id) == [first.json()["data"]["id"]]


async def test_canonical_then_flat_note_with_one_key_is_a_replay(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    note = await client.post(
        "/v1/notes", headers=tenant.headers, json={"projectId": project.id, "content": TEXT}
    )
    note_id = note.json()["data"]["id"]
    first = await generate(
        client, tenant, "note-1", {"projectId": project.id, "source": {"noteId": note_id}}
    )
    assert first.status_code == 202, first.text
    again = await generate(client, tenant, "note-1", {"projectId": project.id, "noteId": note_id})
    assert again.status_code == 202, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(await job_ids(sessionmaker, tenant.workspace.id)) == 1


async def test_a_flat_form_of_another_request_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await generate(client, tenant, "k1", generation_body(project.id))
    assert first.status_code == 202, first.text
    others: list[dict[str, Any]] = [
        {"projectId": project.id, "text": TEXT + "!"},
        {"projectId": project.id, "text": TEXT, "options": {"length": "long"}},
        {"projectId": project.id, "noteId": TEXT},
    ]
    for body in others:
        assert_error(await generate(client, tenant, "k1", body), 409, "idempotency_key_conflict")
    assert len(await job_ids(sessionmaker, tenant.workspace.id)) == 1


async def test_a_recorded_refusal_replays_across_the_forms(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A `sourceId` no source answers is the operation's own 422: recorded, and replayed to
    the canonical spelling of the same request."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await generate(client, tenant, "src-1", {"projectId": project.id, "sourceId": "src_1"})
    assert_error(first, 422, "unprocessable")
    assert first.headers["idempotent-replayed"] == "false"
    canonical = {"projectId": project.id, "source": {"sourceId": "src_1"}}
    again = await generate(client, tenant, "src-1", canonical)
    assert again.status_code == 422
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_mixed_forms_never_reach_the_record(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    mixed = {"projectId": project.id, "source": {"text": TEXT}, "text": TEXT}
    response = await generate(client, tenant, "k1", mixed)
    assert_error(response, 400, "invalid_request")
    assert "idempotent-replayed" not in response.headers
    assert await records(sessionmaker, tenant.workspace.id) == []
    valid = await generate(client, tenant, "k1", {"projectId": project.id, "text": TEXT})
    assert valid.status_code == 202, valid.text
    assert valid.headers["idempotent-replayed"] == "false"
