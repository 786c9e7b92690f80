"""SQL for the spend ledger (API.md §6). Every money move is one conditional statement, so
concurrent requests never take a bucket over its cap and every cent moves exactly once.

Hot paths (asyncpg, prepared once per connection):
- the reservation lives in the submit statement (`jobs/submission.py`): a guarded UPDATE of
  today's bucket that takes no row lock when it refuses (a refused request never holds up
  another), then the day's first reservation opens the bucket;
- SETTLE_FINISHED: a fragment the terminal transitions join (cancel, finish, exhausted), so the
  settlement commits with the transition that ends the job, once: the reservation is marked
  reconciled with Σ reported call costs (+ the estimate for each call that started and never
  reported: its worker died) and its own day's bucket moves by actual minus estimate — on one
  of the bucket's settlement shards, so ending jobs do not queue on the bucket row;
- START_CALL / FINISH_CALL: a provider call is written `started` before it is made, and its
  usage (and output, so no attempt pays for it again) right after it returns.

The operators' report (`scripe-api spend show`) reads through the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import Job, ProviderCall, SpendReservation
from scripe_api.db.pool import Connection

# Rows each bucket's settlements are spread over (`SpendSettlement`).
SETTLEMENT_SHARDS = 16

# Joins a statement whose CTE `finished` returns the ended jobs' `id`s. The bucket row itself is
# left alone: the settlement goes to one of its shards, picked at random, so jobs ending together
# rarely wait for each other, and never for the reservations taking turns on the bucket row.
SETTLE_FINISHED = f"""settled AS (
    UPDATE spend_reservations r
       SET reconciled_at = now(),
           actual_cents = (
               SELECT coalesce(sum(CASE WHEN c.state = 'started' THEN r.estimate_cents
                                        ELSE coalesce(c.cost_cents, 0) END), 0)
                 FROM provider_calls c WHERE c.job_id = r.job_id)
     WHERE r.job_id IN (SELECT id FROM finished) AND r.reconciled_at IS NULL
    RETURNING r.job_id, r.workspace_id, r.bucket_date, r.estimate_cents, r.actual_cents
), moved AS (
    INSERT INTO spend_settlements AS t
           (workspace_id, bucket_date, shard, reserved_cents, actual_cents, updated_at)
    SELECT s.workspace_id, s.bucket_date, floor(random() * {SETTLEMENT_SHARDS})::smallint,
           -sum(s.estimate_cents), sum(s.actual_cents), now()
      FROM settled s
     GROUP BY s.workspace_id, s.bucket_date
     ORDER BY s.workspace_id, s.bucket_date
    ON CONFLICT (workspace_id, bucket_date, shard) DO UPDATE
       SET reserved_cents = t.reserved_cents + EXCLUDED.reserved_cents,
           actual_cents = t.actual_cents + EXCLUDED.actual_cents,
           updated_at = EXCLUDED.updated_at
)"""

START_CALL = """
INSERT INTO provider_calls (job_id, attempt, provider, model, state, started_at)
VALUES ($1, $2, $3, $4, 'started', now())
RETURNING id
"""

FINISH_CALL = """
UPDATE provider_calls
   SET state = $2, cost_cents = $3, input_tokens = $4, output_tokens = $5, output = $6,
       completed_at = now()
 WHERE id = $1
"""

# The bucket date is the UTC date on the database clock, whatever the host's clock says.
UTC_TODAY = text("(now() AT TIME ZONE 'UTC')::date")


@dataclass(frozen=True, slots=True)
class BucketState:
    bucket_date: date
    reserved_cents: int
    actual_cents: int

    @property
    def spent_cents(self) -> int:
        return self.reserved_cents + self.actual_cents


async def start_call(
    connection: Connection, job_id: str, attempt: int, provider: str, model: str | None
) -> int:
    call_id: int = await connection.fetchval(START_CALL, job_id, attempt, provider, model)
    return call_id


async def finish_call(
    connection: Connection,
    call_id: int,
    *,
    state: str,
    cost_cents: int,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    output: dict[str, Any] | None = None,
) -> None:
    await connection.execute(
        FINISH_CALL, call_id, state, cost_cents, input_tokens, output_tokens, output
    )


# A workspace's buckets as reserved and actual cents: each bucket row with its settlements.
BUCKET_TOTALS = """
SELECT b.bucket_date,
       b.reserved_cents + coalesce(sum(s.reserved_cents), 0) AS reserved_cents,
       b.actual_cents + coalesce(sum(s.actual_cents), 0) AS actual_cents
  FROM spend_buckets b
  LEFT JOIN spend_settlements s
         ON s.workspace_id = b.workspace_id AND s.bucket_date = b.bucket_date
 WHERE b.workspace_id = :w {and_date}
 GROUP BY b.bucket_date, b.reserved_cents, b.actual_cents
 ORDER BY b.bucket_date
"""


_TODAY = "AND b.bucket_date = (now() AT TIME ZONE 'UTC')::date"


async def buckets(session: AsyncSession, workspace_id: str) -> dict[date, BucketState]:
    """Every bucket of the workspace, by UTC date."""
    rows = await session.execute(text(BUCKET_TOTALS.format(and_date="")), {"w": workspace_id})
    return {row[0]: BucketState(row[0], int(row[1]), int(row[2])) for row in rows}


async def today(session: AsyncSession, workspace_id: str) -> BucketState:
    """Today's bucket (UTC, database clock); zeros when nothing was reserved yet."""
    row = (
        await session.execute(
            text(
                "SELECT (now() AT TIME ZONE 'UTC')::date, t.reserved_cents, t.actual_cents "
                f"FROM (SELECT 1) one LEFT JOIN ({BUCKET_TOTALS.format(and_date=_TODAY)}) t "
                "ON true"
            ),
            {"w": workspace_id},
        )
    ).one()
    return BucketState(row[0], int(row[1] or 0), int(row[2] or 0))


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
