"""SQL for the spend ledger. Flushes, never commits; every money move is one conditional
statement so concurrent requests can never take a bucket over its cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import Job, ProviderCall, SpendBucket, SpendReservation

# The bucket date is the UTC date on the database clock, whatever the host's clock says.
UTC_TODAY = text("(now() AT TIME ZONE 'UTC')::date")

# A reservation never locks a bucket it is refused from: the UPDATE's condition is checked on
# the row (after waiting for a concurrent reservation to commit), and a row that fails it is left
# unlocked. (`INSERT … ON CONFLICT DO UPDATE … WHERE` would lock the row even when refusing, and
# hold that lock until the refused request's transaction ends.)
_RESERVE = text(
    """
    UPDATE spend_buckets
       SET reserved_cents = reserved_cents + :estimate, updated_at = now()
     WHERE workspace_id = :workspace_id
       AND bucket_date = (now() AT TIME ZONE 'UTC')::date
       AND (CAST(:cap AS bigint) IS NULL
            OR reserved_cents + actual_cents + :estimate <= CAST(:cap AS bigint))
    RETURNING bucket_date
    """
)
# The day's first reservation opens the bucket; DO NOTHING neither locks nor updates a bucket
# another request opened first (the reservation is then tried on that row).
_OPEN_BUCKET = text(
    """
    INSERT INTO spend_buckets (workspace_id, bucket_date, reserved_cents, actual_cents, updated_at)
    VALUES (:workspace_id, (now() AT TIME ZONE 'UTC')::date, :estimate, 0, now())
    ON CONFLICT (workspace_id, bucket_date) DO NOTHING
    RETURNING bucket_date
    """
)


@dataclass(frozen=True, slots=True)
class BucketState:
    bucket_date: date
    reserved_cents: int
    actual_cents: int

    @property
    def spent_cents(self) -> int:
        return self.reserved_cents + self.actual_cents


async def try_reserve(
    session: AsyncSession, workspace_id: str, estimate: int, cap: int | None
) -> date | None:
    """Reserve `estimate` in today's bucket unless that would pass `cap`; the bucket date, or
    None when refused. Each statement is atomic: concurrent reservations serialise on the
    bucket's row lock, which only a granted reservation keeps (until its transaction ends)."""
    if cap is not None and estimate > cap:
        return None
    values = {"workspace_id": workspace_id, "estimate": estimate, "cap": cap}
    reserved = (await session.execute(_RESERVE, values)).first()
    if reserved is None:
        reserved = (await session.execute(_OPEN_BUCKET, values)).first()
    if reserved is None:
        # Another request opened today's bucket after our UPDATE looked: try on that row.
        reserved = (await session.execute(_RESERVE, values)).first()
    return reserved[0] if reserved is not None else None


async def today(session: AsyncSession, workspace_id: str) -> BucketState:
    row = (
        await session.execute(
            select(UTC_TODAY, SpendBucket.reserved_cents, SpendBucket.actual_cents)
            .select_from(SpendBucket)
            .where(SpendBucket.workspace_id == workspace_id, SpendBucket.bucket_date == UTC_TODAY)
        )
    ).first()
    if row is None:
        bucket_date = await session.scalar(select(UTC_TODAY))
        assert bucket_date is not None
        return BucketState(bucket_date, 0, 0)
    return BucketState(row[0], int(row[1]), int(row[2]))


def add_reservation(
    session: AsyncSession, job_id: str, workspace_id: str, bucket_date: date, estimate: int
) -> None:
    session.add(
        SpendReservation(
            job_id=job_id,
            workspace_id=workspace_id,
            bucket_date=bucket_date,
            estimate_cents=estimate,
        )
    )


async def call_charges(session: AsyncSession, job_id: str, unrecorded_charge: int) -> int:
    """Σ reported costs of the job's provider calls, plus `unrecorded_charge` for every call
    that started but never recorded its usage (its worker died): nothing refunded on a guess."""
    total = await session.scalar(
        select(
            func.coalesce(
                func.sum(
                    case(
                        (ProviderCall.state == "started", unrecorded_charge),
                        else_=func.coalesce(ProviderCall.cost_cents, 0),
                    )
                ),
                0,
            )
        ).where(ProviderCall.job_id == job_id)
    )
    return int(total or 0)


async def settle_reservation(
    session: AsyncSession, job_id: str, actual: int
) -> SpendReservation | None:
    """Mark the reservation reconciled, once: None if there is none or it already was."""
    reservation: SpendReservation | None = await session.scalar(
        update(SpendReservation)
        .where(SpendReservation.job_id == job_id, SpendReservation.reconciled_at.is_(None))
        .values(actual_cents=actual, reconciled_at=func.now())
        .returning(SpendReservation)
    )
    return reservation


async def move_bucket(
    session: AsyncSession, workspace_id: str, bucket_date: date, estimate: int, actual: int
) -> None:
    """Swap a reservation's estimate for the actual cost in the reservation's own bucket."""
    await session.execute(
        update(SpendBucket)
        .where(SpendBucket.workspace_id == workspace_id, SpendBucket.bucket_date == bucket_date)
        .values(
            reserved_cents=SpendBucket.reserved_cents - estimate,
            actual_cents=SpendBucket.actual_cents + actual,
            updated_at=func.now(),
        )
    )


async def start_call(
    session: AsyncSession, job_id: str, attempt: int, provider: str, model: str | None
) -> int:
    call = ProviderCall(job_id=job_id, attempt=attempt, provider=provider, model=model)
    session.add(call)
    await session.flush()
    return call.id


async def finish_call(
    session: AsyncSession,
    call_id: int,
    *,
    state: str,
    cost_cents: int,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    output: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        update(ProviderCall)
        .where(ProviderCall.id == call_id)
        .values(
            state=state,
            cost_cents=cost_cents,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            output=output,
            completed_at=func.now(),
        )
    )


async def paid_output(session: AsyncSession, job_id: str) -> dict[str, Any] | None:
    """What the job's latest completed provider call generated, if any call completed."""
    output: dict[str, Any] | None = await session.scalar(
        select(ProviderCall.output)
        .where(
            ProviderCall.job_id == job_id,
            ProviderCall.state == "completed",
            ProviderCall.output.is_not(None),
        )
        .order_by(ProviderCall.id.desc())
        .limit(1)
    )
    return output


async def recent_reservations(
    session: AsyncSession, workspace_id: str, limit: int
) -> list[tuple[SpendReservation, str]]:
    """The workspace's latest reservations with their job's status, newest first."""
    rows = await session.execute(
        select(SpendReservation, Job.status)
        .join(Job, Job.id == SpendReservation.job_id)
        .where(SpendReservation.workspace_id == workspace_id)
        .order_by(SpendReservation.created_at.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def calls_of(session: AsyncSession, job_ids: list[str]) -> list[ProviderCall]:
    rows = await session.scalars(
        select(ProviderCall).where(ProviderCall.job_id.in_(job_ids)).order_by(ProviderCall.id)
    )
    return list(rows.all())
