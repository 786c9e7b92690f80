"""§3 on `POST /v1/posts/generations`: one job per key, however many times it is sent."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory
from tests.idempotency.records import (
    GENERATIONS,
    generate,
    generation_body,
    job_ids,
    keyed,
    records,
)
from tests.jobs.calls import get_job
from tests.workers_support import running_worker


async def test_concurrent_duplicates_make_one_job(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = generation_body(project.id)
    answers = await asyncio.gather(*(generate(client, tenant, "retry-1", body) for _ in range(50)))

    first = [a for a in answers if a.headers.get("idempotent-replayed") == "false"]
    replays = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    in_use = [a for a in answers if a not in first and a not in replays]
    assert len(first) == 1, [(a.status_code, a.text) for a in answers]
    assert first[0].status_code == 202, first[0].text
    for replay in replays:
        assert replay.status_code == 202
        assert replay.json() == first[0].json()
        assert replay.headers["content-type"] == "application/json"
    for answer in in_use:
        assert_error(answer, 409, "idempotency_key_in_use")
        assert answer.headers["retry-after"] == "1"
    assert await job_ids(sessionmaker, tenant.workspace.id) == [first[0].json()["data"]["id"]]


async def test_same_key_with_another_body_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    first = await generate(client, tenant, "k1", generation_body(project.id))
    assert first.status_code == 202, first.text
    other = generation_body(project.id, options={"length": "short"})
    conflict = await generate(client, tenant, "k1", other)
    assert_error(conflict, 409, "idempotency_key_conflict")
    # Key order and whitespace are not a different request.
    reordered = (
        f'{{ "source": {{"text": "Small teams ship faster."}}, "projectId": "{project.id}" }}'
    )
    replay = await client.post(
        GENERATIONS,
        headers={**keyed(tenant, "k1"), "Content-Type": "application/json"},
        content=reordered.encode(),
    )
    assert replay.status_code == 202, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(await job_ids(sessionmaker, tenant.workspace.id)) == 1


async def test_malformed_keys_are_ignored(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = generation_body(project.id)
    for key in ("has space", "x" * 65, "dot.ted", ""):
        answers = [await generate(client, tenant, key, body) for _ in range(2)]
        for answer in answers:
            assert answer.status_code == 202, answer.text
            assert "idempotent-replayed" not in answer.headers
    assert len(await job_ids(sessionmaker, tenant.workspace.id)) == 8
    assert await records(sessionmaker, tenant.workspace.id) == []


async def test_invalid_requests_never_reach_the_record(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    invalid = await generate(client, tenant, "k1", {"projectId": project.id})
    assert_error(invalid, 400, "invalid_request")
    assert "idempotent-replayed" not in invalid.headers
    unauthenticated = await client.post(
        GENERATIONS, headers={"Idempotency-Key": "k1"}, json=generation_body(project.id)
    )
    assert_error(unauthenticated, 401, "unauthenticated")
    assert await records(sessionmaker, tenant.workspace.id) == []
    # The key is still free for a valid request.
    valid = await generate(client, tenant, "k1", generation_body(project.id))
    assert valid.status_code == 202, valid.text
    assert valid.headers["idempotent-replayed"] == "false"


async def test_a_refusal_under_a_key_says_whether_it_is_replayed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A recorded refusal (unknown project: 404) answers `Idempotent-Replayed: false` the
    first time and `true` on the retry, like every keyed answer."""
    tenant = await factory.tenant()
    body = generation_body("proj_unknown")
    first = await generate(client, tenant, "refused-1", body)
    assert_error(first, 404, "not_found")
    assert first.headers["idempotent-replayed"] == "false"
    again = await generate(client, tenant, "refused-1", body)
    # The recorded answer verbatim (its body names the first request's id).
    assert again.status_code == 404
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_an_oversized_field_never_reaches_the_key(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """413 is checked before the key (§1.5): even a key already used for another request
    answers 413 for a text over 100 KB, not 409 conflict, and records nothing."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    used = await generate(client, tenant, "used-1", generation_body(project.id))
    assert used.status_code == 202, used.text
    oversized = {"projectId": project.id, "source": {"text": "x" * (100 * 1024 + 1)}}
    refused = await generate(client, tenant, "used-1", oversized)
    assert_error(refused, 413, "payload_too_large")
    assert "idempotent-replayed" not in refused.headers
    fresh = await generate(client, tenant, "fresh-1", oversized)
    assert_error(fresh, 413, "payload_too_large")
    assert len(await records(sessionmaker, tenant.workspace.id)) == 1


async def test_reads_ignore_the_key(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    listed = await client.get("/v1/jobs", headers=keyed(tenant, "k1"))
    assert listed.status_code == 200, listed.text
    assert "idempotent-replayed" not in listed.headers
    assert await records(sessionmaker, tenant.workspace.id) == []


async def test_sync_wait_records_the_envelope_as_of_commit(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = generation_body(project.id, wait_for_completion_ms=10_000)
    async with running_worker(settings):
        live = await generate(client, tenant, "wait-1", body)
    assert live.status_code == 202, live.text
    assert live.headers["idempotent-replayed"] == "false"
    done = live.json()["data"]
    assert done["status"] == "DONE", done

    replay = await generate(client, tenant, "wait-1", body)
    assert replay.status_code == 202, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    accepted = replay.json()["data"]
    assert accepted["id"] == done["id"]
    assert accepted["status"] == "QUEUED"
    assert accepted["attemptCount"] == 0
    # A replay never runs the job again.
    assert await job_ids(sessionmaker, tenant.workspace.id) == [done["id"]]
    assert await get_job(client, tenant, done["id"]) == done
