from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.db.models import ProviderCall, SpendBucket, SpendReservation
from scripe_api.db.pool import Database
from scripe_api.jobs.submission import SUBMIT_JOB
from scripe_api.main import create_app
from scripe_api.settings import Settings
from scripe_api.spend import repository as spend_ledger
from scripe_api.spend import service as spend
from tests.apps import serve
from tests.factories import Factory, Tenant
from tests.jobs.calls import claim_and_die, poll_job
from tests.scripted_provider import script
from tests.workers_support import running_worker

TERMINAL = {"DONE", "FAILED", "CANCELLED"}


def capped(settings: Settings, cap: int | None, **overrides: Any) -> Settings:
    caps = dict(settings.plan_spend_caps_cents)
    caps["ADVANCED"] = cap
    return settings.model_copy(update={"plan_spend_caps_cents": caps, **overrides})


async def submit(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, source: str = "Spend test."
) -> httpx.Response:
    return await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project_id, "source": {"text": source}},
    )


async def bucket(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> spend_ledger.BucketState | None:
    """The workspace's one bucket (its row and its settlements), None before any reservation."""
    async with sessionmaker() as session:
        buckets = await spend_ledger.buckets(session, workspace_id)
    assert len(buckets) <= 1
    return next(iter(buckets.values()), None)


async def cents(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> tuple[int, int]:
    """(reserved, actual) of the workspace's bucket."""
    state = await bucket(sessionmaker, workspace_id)
    assert state is not None
    return state.reserved_cents, state.actual_cents


async def test_cap_refuses_with_402_and_exact_meta(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with serve(create_app(capped(settings, 12))) as client:
        answers = [await submit(client, tenant, project.id) for _ in range(3)]
        jobs_listed = await client.get("/v1/jobs", headers=tenant.headers)
    assert [a.status_code for a in answers] == [202, 202, 402]
    error = answers[2].json()["error"]
    assert error["code"] == "spend_cap_exceeded"
    assert error["message"] == "Daily AI spend cap reached (10¢ of 12¢). Resets at 00:00 UTC."
    meta = error["meta"]
    assert meta["capCents"] == 12
    assert meta["spentCents"] == 10
    assert meta["estimateCents"] == 5
    assert len(meta["bucketDate"]) == 10
    # The refused request left nothing behind.
    assert len(jobs_listed.json()["data"]) == 2


async def test_concurrent_submissions_never_pass_the_cap(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    roomy = {"read": 10_000, "write": 10_000, "ai": 10_000}
    # 200 requests at once on one event loop (and a busy 2-core machine) can queue for a pooled
    # connection longer than the production default; this test is about the cap, not latency.
    app_settings = capped(
        settings,
        103,
        rate_limits=roomy,
        db_pool_size=20,
        db_max_overflow=10,
        db_pool_timeout_seconds=60,
    )
    async with serve(create_app(app_settings)) as client:
        answers = await asyncio.gather(*(submit(client, tenant, project.id) for _ in range(200)))
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code == 402]
    assert len(accepted) == 103 // 5
    others = sorted(
        {(a.status_code, a.text[:120]) for a in answers if a.status_code not in (202, 402)}
    )
    assert len(accepted) + len(refused) == 200, others
    for answer in refused:
        meta = answer.json()["error"]["meta"]
        assert meta["capCents"] == 103
        assert meta["spentCents"] + meta["estimateCents"] > 103
    reserved, _ = await cents(sessionmaker, tenant.workspace.id)
    assert reserved == 20 * 5 <= 103


async def test_reconciliation_credits_back_the_unused_estimate(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = (await submit(client, tenant, project.id)).json()["data"]
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    assert done["status"] == "DONE"
    # The scripted provider reports 1¢ against a 5¢ estimate.
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 1)


async def test_cancel_refunds_the_whole_estimate(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = (await submit(client, tenant, project.id)).json()["data"]
    assert await cents(sessionmaker, tenant.workspace.id) == (5, 0)
    cancelled = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=tenant.headers)
    assert cancelled.status_code == 200
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 0)


async def test_failure_before_any_provider_call_refunds(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    paused = await factory.project(tenant.workspace.id, status="PAUSED")
    job = (await submit(client, tenant, paused.id)).json()["data"]
    async with running_worker(settings):
        failed = await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    assert failed["errorCode"] == "project_unavailable"
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 0)


async def test_provider_errors_bill_nothing_and_failed_job_is_refunded(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = (await submit(client, tenant, project.id, script(permanent="content_rejected"))).json()[
        "data"
    ]
    async with running_worker(settings):
        failed = await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    assert failed["errorCode"] == "content_rejected"
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 0)
    async with sessionmaker() as session:
        calls = (
            await session.scalars(select(ProviderCall).where(ProviderCall.job_id == job["id"]))
        ).all()
    assert [call.state for call in calls] == ["failed"]


async def test_crashed_attempt_is_charged_its_estimate_and_reconciled_once(
    database: Database,
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = (await submit(client, tenant, project.id)).json()["data"]
    # Attempt 1: a worker claims the job, starts a provider call, and dies before it returns.
    assert await claim_and_die(database, job["id"], 1, timedelta(seconds=0.2))
    await spend.start_call(database, job["id"], 1, "scripted", "script-1")
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    assert done["status"] == "DONE"
    assert done["attemptCount"] == 2
    # 5¢ for the call whose usage was never recorded + 1¢ reported by attempt 2.
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 6)
    async with sessionmaker() as session:
        reservation = await session.get(SpendReservation, job["id"])
    assert reservation is not None
    assert reservation.actual_cents == 6


async def test_reconciliation_goes_to_the_reservations_day(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = (await submit(client, tenant, project.id)).json()["data"]
    # As if reserved at 23:59:59 UTC yesterday: move the reservation and its bucket back a day.
    async with sessionmaker() as session, session.begin():
        yesterday = await session.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date - 1"))
        await session.execute(
            update(SpendBucket)
            .where(SpendBucket.workspace_id == tenant.workspace.id)
            .values(bucket_date=yesterday)
        )
        await session.execute(
            update(SpendReservation)
            .where(SpendReservation.job_id == job["id"])
            .values(bucket_date=yesterday)
        )
    async with running_worker(settings):
        await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    async with sessionmaker() as session:
        buckets = await spend_ledger.buckets(session, tenant.workspace.id)
    assert [(b.bucket_date, b.reserved_cents, b.actual_cents) for b in buckets.values()] == [
        (yesterday, 0, 1)
    ]


async def test_enterprise_is_unlimited_but_recorded_and_test_keys_reserve_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    enterprise = await factory.tenant(plan="ENTERPRISE")
    project = await factory.project(enterprise.workspace.id)
    assert (await submit(client, enterprise, project.id)).status_code == 202
    assert await cents(sessionmaker, enterprise.workspace.id) == (5, 0)

    tester = await factory.tenant(mode="test")
    test_project = await factory.project(tester.workspace.id)
    async with serve(create_app(capped(settings, 0))) as capped_client:
        answer = await submit(capped_client, tester, test_project.id)
    assert answer.status_code == 202
    assert await bucket(sessionmaker, tester.workspace.id) is None


async def test_a_402_is_not_recorded_so_the_same_key_runs_again_later(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    headers = {**tenant.headers, "Idempotency-Key": "gen-after-midnight"}
    body = {"projectId": project.id, "source": {"text": "Capacity frees up."}}
    async with serve(create_app(capped(settings, 4))) as client:
        refused = await client.post("/v1/posts/generations", headers=headers, json=body)
    assert refused.status_code == 402
    # Capacity frees up (a new day, a higher cap): the same key runs, it is not a replay.
    async with serve(create_app(capped(settings, 10))) as client:
        accepted = await client.post("/v1/posts/generations", headers=headers, json=body)
        replayed = await client.post("/v1/posts/generations", headers=headers, json=body)
    assert accepted.status_code == 202
    assert accepted.headers["idempotent-replayed"] == "false"
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == accepted.json()


async def test_a_refused_reservation_leaves_no_lock_behind(
    factory: Factory, database: Database, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """While the refused submit's transaction is still open, another transaction can lock the
    bucket at once (a reconciliation, a refund): the refusal kept no row lock."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    workspace_id = tenant.workspace.id

    def arguments() -> tuple[object, ...]:
        return submit_arguments(workspace_id, project.id, cap=5)

    async with database.connection() as first:
        assert (await first.fetchrow(SUBMIT_JOB, *arguments()))["outcome"] == "created"
    async with database.connection() as refused, refused.transaction():
        assert (await refused.fetchrow(SUBMIT_JOB, *arguments()))["outcome"] == "spend_cap"
        async with database.connection() as other:
            locked = await other.fetchval(
                "SELECT reserved_cents FROM spend_buckets WHERE workspace_id = $1 "
                "FOR UPDATE NOWAIT",
                workspace_id,
            )
            assert locked == 5


async def test_the_days_first_reservations_race_to_open_the_bucket(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Concurrent first reservations of the day: one opens the bucket, the others reserve in
    it, none is refused while the cap allows it."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with serve(create_app(capped(settings, 50))) as client:
        answers = await asyncio.gather(*(submit(client, tenant, project.id) for _ in range(8)))
    assert [answer.status_code for answer in answers] == [202] * 8
    assert await cents(sessionmaker, tenant.workspace.id) == (40, 0)


def submit_arguments(
    workspace_id: str, project_id: str, *, cap: int, key: str | None = None
) -> tuple[object, ...]:
    """`SUBMIT_JOB`'s parameters for a 5¢ generation under `cap`."""
    return (
        workspace_id,
        "POST /v1/posts/generations" if key else None,
        key,
        b"fingerprint" if key else None,
        30.0,
        86400.0,
        new_id("job"),
        "POST_GENERATION",
        "live",
        project_id,
        None,
        {"source": {"text": "x"}},
        None,
        None,
        utc_now(),
        5,
        cap,
        "{}",
        None,  # no deadline
        None,  # no upload
        None,  # no source
    )


async def test_a_reservation_refused_after_waiting_leaves_nothing_behind(
    factory: Factory, database: Database
) -> None:
    """The bucket fills while a submit waits for it: that submit is refused with the bucket as
    it is now, its job and reservation are gone, and its Idempotency-Key is free."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    workspace_id = tenant.workspace.id
    async with database.connection() as connection:
        first = submit_arguments(workspace_id, project.id, cap=10)
        assert (await connection.fetchrow(SUBMIT_JOB, *first))["outcome"] == "created"
    late = submit_arguments(workspace_id, project.id, cap=10, key="late-key")
    async with database.connection() as filler, database.connection() as waiter:
        transaction = filler.transaction()
        await transaction.start()
        fill = submit_arguments(workspace_id, project.id, cap=10)
        assert (await filler.fetchrow(SUBMIT_JOB, *fill))["outcome"] == "created"
        # 5¢ of 10¢ are committed, so the late submit gets past the unlocked look and waits
        # for the bucket row, which the filler holds until it commits.
        waiting = asyncio.create_task(waiter.fetchrow(SUBMIT_JOB, *late))
        waiter_pid = waiter.get_server_pid()
        async with database.connection() as observer:
            for _ in range(200):
                event = await observer.fetchval(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", waiter_pid
                )
                if event == "Lock":
                    break
                await asyncio.sleep(0.05)
            assert event == "Lock"
        await transaction.commit()
        refused = await waiting
    assert refused["outcome"] == "spend_cap"
    assert refused["spent_cents"] == 10
    async with database.connection() as connection:
        late_job = late[6]
        assert await connection.fetchval("SELECT count(*) FROM jobs WHERE id = $1", late_job) == 0
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM spend_reservations WHERE job_id = $1", late_job
            )
            == 0
        )
        # The key was not recorded: with room again, it runs (not a replay).
        again = submit_arguments(workspace_id, project.id, cap=20, key="late-key")
        assert (await connection.fetchrow(SUBMIT_JOB, *again))["outcome"] == "created"


async def test_jobs_end_and_settle_while_a_reservation_holds_the_bucket(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Ending jobs do not queue behind the reservations on the bucket row: with the row held
    (as a submit holds it while it commits), jobs still finish, and the spend adds up after."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    jobs = [(await submit(client, tenant, project.id)).json()["data"] for _ in range(3)]
    async with sessionmaker() as holder, holder.begin():
        await holder.execute(
            text("SELECT 1 FROM spend_buckets WHERE workspace_id = :w FOR UPDATE"),
            {"w": tenant.workspace.id},
        )
        async with running_worker(settings):
            done = [
                await poll_job(client, tenant.headers, job["id"], until=TERMINAL) for job in jobs
            ]
    assert [job["status"] for job in done] == ["DONE"] * 3
    # The scripted provider bills 1¢ a job: the three 5¢ estimates became 3¢.
    assert await cents(sessionmaker, tenant.workspace.id) == (0, 3)
