"""The daily AI spend cap (API.md §6): reserve at submit, record every provider call, reconcile
once when the job ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from scripe_api.auth.principal import Principal
from scripe_api.db.models import Job, ProviderCall, SpendReservation
from scripe_api.observability.metrics import SPEND_RECONCILED_CENTS, SPEND_RESERVED_CENTS
from scripe_api.providers.base import Usage
from scripe_api.settings import Settings
from scripe_api.spend import repository
from scripe_api.spend.errors import SpendCapExceeded
from scripe_api.workspaces.service import get_workspace


def cap_for(settings: Settings, plan: str) -> int | None:
    return settings.plan_spend_caps_cents.get(plan, 0)


async def reserve_for_job(
    session: AsyncSession, settings: Settings, principal: Principal, job_id: str, estimate: int
) -> None:
    """Reserve `estimate` for the job in the caller's transaction, or raise 402.

    Test keys reserve nothing (their jobs run on the offline generator at 0¢).
    """
    if principal.is_test:
        return
    cap = cap_for(settings, principal.plan)
    bucket_date = await repository.try_reserve(session, principal.workspace_id, estimate, cap)
    if bucket_date is None:
        state = await repository.today(session, principal.workspace_id)
        raise SpendCapExceeded(
            f"Daily AI spend cap reached ({state.spent_cents}¢ of {cap}¢). Resets at 00:00 UTC.",
            meta={
                "bucketDate": state.bucket_date.isoformat(),
                "capCents": cap,
                "spentCents": state.spent_cents,
                "estimateCents": estimate,
            },
        )
    repository.add_reservation(session, job_id, principal.workspace_id, bucket_date, estimate)
    _count_on_commit(session, SPEND_RESERVED_CENTS, estimate)


async def reconcile_job(session: AsyncSession, job: Job) -> None:
    """A JobHooks terminal hook: runs in the transaction of the job's terminal compare-and-set,
    so it applies exactly once. Cancelled jobs, and jobs that failed before any provider call,
    get their whole estimate back; otherwise the bucket moves by actual minus estimate."""
    reservation = await repository.settle_reservation(session, job.id, actual=0)
    if reservation is None:
        return
    actual = await repository.call_charges(session, job.id, reservation.estimate_cents)
    reservation.actual_cents = actual
    await session.flush()
    await repository.move_bucket(
        session,
        reservation.workspace_id,
        reservation.bucket_date,
        reservation.estimate_cents,
        actual,
    )
    _count_on_commit(session, SPEND_RECONCILED_CENTS, actual)


def _count_on_commit(session: AsyncSession, counter: Counter, cents: int) -> None:
    """Add `cents` to `counter` once the caller's transaction commits; a rollback of it (the
    money never moved) drops the count for good."""
    pending = [cents]

    def count(_: Session) -> None:
        if pending:
            counter.inc(pending.pop())

    def forget(_: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:
            pending.clear()

    event.listen(session.sync_session, "after_commit", count)
    event.listen(session.sync_session, "after_soft_rollback", forget)


async def start_call(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: str,
    attempt: int,
    provider: str,
    model: str | None,
) -> int:
    """Write the call as started, committed before the call is made."""
    async with sessionmaker() as session, session.begin():
        return await repository.start_call(session, job_id, attempt, provider, model)


async def complete_call(
    sessionmaker: async_sessionmaker[AsyncSession],
    call_id: int,
    usage: Usage,
    output: dict[str, Any] | None = None,
) -> None:
    """Record what the provider reported and what it generated, committed right after the call
    returns: from then on the job never pays for this output again (see `paid_output`)."""
    async with sessionmaker() as session, session.begin():
        await repository.finish_call(
            session,
            call_id,
            state="completed",
            cost_cents=usage.cost_cents,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            output=output,
        )


async def paid_output(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: str
) -> dict[str, Any] | None:
    """The output an earlier attempt of the job already paid a provider for, if any."""
    async with sessionmaker() as session:
        return await repository.paid_output(session, job_id)


async def fail_call(
    sessionmaker: async_sessionmaker[AsyncSession], call_id: int, usage: Usage | None = None
) -> None:
    """The provider answered with an error: it billed what it reported (a refusal is billed),
    or nothing when it reported nothing."""
    async with sessionmaker() as session, session.begin():
        await repository.finish_call(
            session,
            call_id,
            state="failed",
            cost_cents=usage.cost_cents if usage else 0,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
        )


@dataclass(frozen=True)
class SpendReport:
    """The operators' view of a workspace's spend today."""

    workspace_id: str
    plan: str
    cap_cents: int | None
    today: repository.BucketState
    reservations: list[tuple[SpendReservation, str]]
    calls: list[ProviderCall]


async def spend_report(
    session: AsyncSession, settings: Settings, workspace_id: str, limit: int
) -> SpendReport:
    workspace = await get_workspace(session, workspace_id)
    reservations = await repository.recent_reservations(session, workspace_id, limit)
    calls = await repository.calls_of(session, [r.job_id for r, _ in reservations])
    return SpendReport(
        workspace_id=workspace.id,
        plan=workspace.plan,
        cap_cents=cap_for(settings, workspace.plan),
        today=await repository.today(session, workspace_id),
        reservations=reservations,
        calls=calls,
    )
