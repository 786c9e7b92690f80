from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.db.base import Base


class SpendBucket(Base):
    """A workspace's AI spend on one UTC day (database clock): spent = actual + reserved, with
    the day's settlements (`SpendSettlement`) added. Reservations move this row, guarded by the
    cap, so they take turns on it; settlements do not, so ending jobs never queue behind them."""

    __tablename__ = "spend_buckets"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_date: Mapped[date] = mapped_column(Date, primary_key=True)
    # Estimates of jobs not yet reconciled.
    reserved_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Reconciled cost of finished jobs.
    actual_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SpendSettlement(Base):
    """Part of a bucket's reconciliations: each ending job moves one of `SETTLEMENT_SHARDS` rows
    of its reservation's bucket, at random, by -estimate (reserved) and +actual. Summed with the
    bucket row, they give the day's spend; spread out, concurrent endings seldom wait for each
    other or for the reservations on the bucket row."""

    __tablename__ = "spend_settlements"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_date: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # Estimates released (≤ 0) and actual costs charged by the settlements on this shard.
    reserved_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    actual_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SpendReservation(Base):
    """The ledger's reservation row: one per job that reserved spend at submit."""

    __tablename__ = "spend_reservations"
    __table_args__ = (Index("ix_spend_reservations_workspace_date", "workspace_id", "bucket_date"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # The bucket the reservation was taken from; reconciliation moves this bucket, whatever day
    # the job ends on.
    bucket_date: Mapped[date] = mapped_column(Date)
    estimate_cents: Mapped[int] = mapped_column(Integer)
    # Set once, by the job's terminal transition.
    actual_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    reconciled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ProviderCall(Base):
    """The ledger's usage row: written `started` before a provider call, completed right after."""

    __tablename__ = "provider_calls"
    __table_args__ = (
        CheckConstraint("state IN ('started', 'completed', 'failed')", name="state"),
        Index("ix_provider_calls_job", "job_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(120), default=None)
    state: Mapped[str] = mapped_column(String(12), default="started")
    input_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    output_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    # What the provider billed, in cents (rounded up); null until the call returns.
    cost_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    # What a completed call generated ({"title", "content"}): a later attempt of the job (its
    # completion failed, or its worker died after the call) reuses it instead of paying again.
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
