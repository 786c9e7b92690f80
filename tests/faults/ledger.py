"""What the database says about jobs, posts and money, read straight from the tables."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.base import Base
from scripe_api.db.models import Job, Post, ProviderCall, SpendReservation
from scripe_api.spend import repository as spend


@dataclass(frozen=True)
class Ledger:
    """The §6 ledger of one workspace."""

    reservations: dict[str, SpendReservation]
    calls: dict[str, list[ProviderCall]]
    buckets: dict[date, spend.BucketState]


async def read_ledger(sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str) -> Ledger:
    async with sessionmaker() as session:
        reservations = (
            await session.scalars(
                select(SpendReservation).where(SpendReservation.workspace_id == workspace_id)
            )
        ).all()
        calls = (
            await session.scalars(
                select(ProviderCall).where(
                    ProviderCall.job_id.in_([r.job_id for r in reservations])
                )
            )
        ).all()
        buckets = await spend.buckets(session, workspace_id)
    by_job: dict[str, list[ProviderCall]] = defaultdict(list)
    for call in calls:
        by_job[call.job_id].append(call)
    return Ledger(
        reservations={r.job_id: r for r in reservations},
        calls=dict(by_job),
        buckets=buckets,
    )


def expected_charge(calls: list[ProviderCall], estimate: int) -> int:
    """§6: Σ reported costs, plus the estimate for each call that started and never recorded
    its usage (its worker died)."""
    return sum(estimate if call.state == "started" else (call.cost_cents or 0) for call in calls)


def assert_reconciled_once(ledger: Ledger, job_ids: list[str]) -> dict[str, int]:
    """Every job reserved once and was reconciled once to what its calls say; the buckets hold
    exactly the reconciled amounts and nothing still reserved. Returns each job's charge."""
    assert set(ledger.reservations) == set(job_ids)
    charges: dict[str, int] = {}
    for job_id in job_ids:
        reservation = ledger.reservations[job_id]
        assert reservation.reconciled_at is not None, job_id
        calls = ledger.calls.get(job_id, [])
        charge = expected_charge(calls, reservation.estimate_cents)
        assert reservation.actual_cents == charge, (job_id, reservation.actual_cents, calls)
        charges[job_id] = charge
    for bucket_date, bucket in ledger.buckets.items():
        of_day = [r for r in ledger.reservations.values() if r.bucket_date == bucket_date]
        assert bucket.reserved_cents == 0, bucket_date
        assert bucket.actual_cents == sum(r.actual_cents or 0 for r in of_day), bucket_date
    return charges


async def jobs_of(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> dict[str, Job]:
    async with sessionmaker() as session:
        jobs = (await session.scalars(select(Job).where(Job.workspace_id == workspace_id))).all()
    return {job.id: job for job in jobs}


async def posts_of(sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str) -> list[Post]:
    async with sessionmaker() as session:
        return list(
            (await session.scalars(select(Post).where(Post.workspace_id == workspace_id))).all()
        )


def per_job(posts: list[Post]) -> Counter[str | None]:
    return Counter(post.job_id for post in posts)


async def row_counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows in every table of the schema."""
    async with sessionmaker() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }
