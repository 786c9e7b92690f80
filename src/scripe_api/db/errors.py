"""Telling a database outage from a bug: an outage is retried (jobs) or a 503 (API), never a
500 or a failed job."""

from __future__ import annotations

import asyncpg
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` (or its cause chain) means Postgres could not be reached.

    asyncpg raises plain OSErrors when it cannot connect, so socket errors count, unless the
    chain shows they came from Redis (whose outages never make the API answer 503).
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(link, RedisError) for link in chain):
        return False
    for current in chain:
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            sa_exc.TimeoutError  # pool exhausted: the database cannot keep up
            | sa_exc.DisconnectionError
            | asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.InterfaceError
            # Waits past lock_timeout / statement_timeout: the database cannot serve it now.
            | asyncpg.LockNotAvailableError
            | asyncpg.QueryCanceledError
            | ConnectionError
            | TimeoutError
            | OSError,
        ):
            return True
    return False
