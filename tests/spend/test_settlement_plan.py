"""The settlement every ending job runs looks its reservation up by primary key, in the plan a
prepared statement keeps for its connection's life — however small the table was when that
plan was made (it was a sequential scan per finished job: O(rows) as the ledger grows)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.spend.repository import SETTLE_FINISHED


async def test_settlement_finds_the_reservation_by_key_in_a_generic_plan(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # As the terminal transitions write it: the ended jobs come out of an UPDATE.
    finished = "UPDATE jobs SET updated_at = now() WHERE id = $1 RETURNING id"
    statement = f"WITH finished AS ({finished}), {SETTLE_FINISHED} SELECT 1"
    async with sessionmaker() as session:
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute(f"PREPARE settle_probe(varchar) AS {statement}")
        try:
            plan = "\n".join(
                row[0] for row in await raw.fetch("EXPLAIN EXECUTE settle_probe('job_x')")
            )
        finally:
            await raw.execute("DEALLOCATE settle_probe")
        await session.rollback()
    assert "Seq Scan on spend_reservations" not in plan, plan
    assert "pk_spend_reservations" in plan, plan
