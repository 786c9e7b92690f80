"""The database probe of the health check."""

from __future__ import annotations

from scripe_api.db.pool import Database


async def probe(database: Database) -> int:
    """One round trip on a pooled connection: proves the pool can reach Postgres."""
    return int(await database.fetchval("SELECT 1"))
