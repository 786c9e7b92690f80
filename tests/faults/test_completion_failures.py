"""A job whose work succeeded but whose outcome cannot be saved at once: the saving is retried,
never the provider call; a failure retrying cannot fix fails the job once; and a later attempt
reuses the output the provider was already paid for.

The failures are real Postgres behaviour: a row lock held by another transaction past
`lock_timeout`, and a trigger that refuses the post row.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.jobs.execution import OUTCOME_NOT_SAVED
from scripe_api.main import create_app
from scripe_api.observability.metrics import REGISTRY
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import posts_of, read_ledger
from tests.jobs.calls import wait_for_key
from tests.scripted_provider import release_key, script, started_key
from tests.workers_support import running_worker

REFUSED_MARK = "REFUSE-THIS-POST"


def lock_timeout_short(settings: Settings, **overrides: object) -> Settings:
    return settings.model_copy(update={"db_lock_timeout_ms": 200, **overrides})


async def retries_so_far() -> float:
    """The worker's own count of saving transactions it tried again (its metrics)."""
    return REGISTRY.get_sample_value("scripe_job_completion_retries_total") or 0.0


@pytest.fixture
async def refusing_trigger(
    fault_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[None]:
    """Postgres refuses a post whose content carries REFUSED_MARK (a permanent failure)."""
    async with fault_sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "CREATE OR REPLACE FUNCTION faults_refuse_post() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'post refused by the fault test' USING ERRCODE = "
                "'check_violation'; END $$ LANGUAGE plpgsql"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER faults_refuse_post BEFORE INSERT ON posts FOR EACH ROW "
                f"WHEN (NEW.content LIKE '%{REFUSED_MARK}%') EXECUTE FUNCTION faults_refuse_post()"
            )
        )
    try:
        yield
    finally:
        async with fault_sessionmaker() as session, session.begin():
            await session.execute(text("DROP TRIGGER faults_refuse_post ON posts"))
            await session.execute(text("DROP FUNCTION faults_refuse_post()"))


async def _hold_settlements(session: AsyncSession) -> None:
    """Keep every writer off the buckets' settlement rows: the completion's reconciliation
    writes one of them."""
    await session.execute(text("LOCK TABLE spend_settlements IN SHARE MODE"))


async def _finish_under_held_settlements(
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> tuple[str, dict[str, Any]]:
    """One scripted job whose provider call ends while the settlements are held, so
    its saving transaction waits past lock_timeout at least once; the lock is then let go and
    the job settles. Returns the workspace and the settled job."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    block = uuid.uuid4().hex
    async with serve(create_app(settings)) as client, running_worker(settings):
        client.headers.update(tenant.headers)
        job = await submit(client, project.id, script(block=block))
        await wait_for_key(redis, started_key(job["id"], 1))
        before = await retries_so_far()
        async with sessionmaker() as holder, holder.begin():
            await _hold_settlements(holder)
            await redis.set(release_key(block), "1")
            await eventually(retries_so_far, lambda now: now > before, within=30)
        (done,) = await settle(client, [job["id"]])
    return tenant.workspace.id, done


async def test_a_lock_timeout_while_saving_retries_the_saving_not_the_provider(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
) -> None:
    settings = lock_timeout_short(fault_settings)
    workspace_id, done = await _finish_under_held_settlements(
        settings, fault_factory, fault_sessionmaker, fault_redis
    )
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1
    ledger = await read_ledger(fault_sessionmaker, workspace_id)
    assert len(ledger.calls[done["id"]]) == 1
    assert ledger.reservations[done["id"]].actual_cents == 1
    assert [post.job_id for post in await posts_of(fault_sessionmaker, workspace_id)] == [
        done["id"]
    ]


async def test_a_later_attempt_reuses_the_output_already_paid_for(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
) -> None:
    """The first attempt gives up saving (no retry budget); the next one saves the same post
    without calling the provider again."""
    settings = lock_timeout_short(fault_settings, job_completion_retry_seconds=0)
    workspace_id, done = await _finish_under_held_settlements(
        settings, fault_factory, fault_sessionmaker, fault_redis
    )
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 2
    assert not await fault_redis.exists(started_key(done["id"], 2))  # no second provider call
    ledger = await read_ledger(fault_sessionmaker, workspace_id)
    assert len(ledger.calls[done["id"]]) == 1
    assert ledger.reservations[done["id"]].actual_cents == 1
    (post,) = await posts_of(fault_sessionmaker, workspace_id)
    assert "Attempt 1." in post.content  # the output attempt 1 paid for


@pytest.mark.usefixtures("refusing_trigger")
async def test_an_outcome_that_can_never_be_saved_fails_the_job_once(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
) -> None:
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    async with serve(create_app(fault_settings)) as client, running_worker(fault_settings):
        client.headers.update(tenant.headers)
        job = await submit(client, project.id, f"A post Postgres refuses: {REFUSED_MARK}.")
        (failed,) = await settle(client, [job["id"]])
    assert failed["status"] == "FAILED", failed
    assert failed["errorCode"] == "internal_error"
    assert failed["errorMessage"] == OUTCOME_NOT_SAVED.message
    assert failed["attemptCount"] == 1
    assert not await fault_redis.exists(started_key(job["id"], 2))
    ledger = await read_ledger(fault_sessionmaker, tenant.workspace.id)
    assert len(ledger.calls[job["id"]]) == 1
    # Charged what the provider billed for the one call, reconciled once.
    reservation = ledger.reservations[job["id"]]
    assert reservation.actual_cents == 1
    assert reservation.reconciled_at is not None
    assert await posts_of(fault_sessionmaker, tenant.workspace.id) == []
