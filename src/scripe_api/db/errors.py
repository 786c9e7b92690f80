"""Telling a database outage from a bug: an outage is retried (jobs) or a 503 (API), never a
500 or a failed job."""

from __future__ import annotations

import socket

import asyncpg
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc


class DatabaseUnreachable(ConnectionError):
    """Opening a connection to Postgres failed at the socket level (any OSError: a refused
    port, the socket file of a stopped local server missing, an unknown host)."""


# Postgres cannot be reached or the connection broke: any retry may succeed.
_OUTAGE = (
    sa_exc.TimeoutError  # pool exhausted: the database cannot keep up
    | sa_exc.DisconnectionError
    | asyncpg.PostgresConnectionError
    | asyncpg.CannotConnectNowError
    # The server ended the session (a fast shutdown, a failover, pg_terminate_backend), crashed,
    # or has no connection slot left: none of it is the request's or the job's doing.
    | asyncpg.AdminShutdownError
    | asyncpg.CrashShutdownError
    | asyncpg.TooManyConnectionsError
    | ConnectionError
    | TimeoutError
    | socket.gaierror
)
# Also a 503 for a request (it cannot be served now), but for a job they may be its own fault:
# a statement that always exceeds statement_timeout, a misused connection, an OSError of the
# job's own making.
_UNSERVABLE_NOW = (
    asyncpg.InterfaceError | asyncpg.LockNotAvailableError | asyncpg.QueryCanceledError | OSError
)


def _chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _database_chain(error: BaseException) -> list[BaseException]:
    """`error` and its causes; empty when they came from Redis (whose outages never make the
    API answer 503, nor a job retry as if the database were down)."""
    chain = _chain(error)
    return [] if any(isinstance(link, RedisError) for link in chain) else chain


def _is_outage(chain: list[BaseException]) -> bool:
    return any(
        isinstance(link, _OUTAGE)
        or (isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated)
        for link in chain
    )


def is_database_outage(error: BaseException) -> bool:
    """True when `error` (or its cause chain) means Postgres could not be reached or dropped
    the connection: a job's attempt that met it is retried rather than failed."""
    return _is_outage(_database_chain(error))


def is_database_unavailable(error: BaseException) -> bool:
    """True when a request cannot be served by the database now: an outage, or waits past
    lock_timeout / statement_timeout. asyncpg raises plain OSErrors when it cannot connect, so
    socket errors count."""
    chain = _database_chain(error)
    return _is_outage(chain) or any(isinstance(link, _UNSERVABLE_NOW) for link in chain)


# A write that lost a race or waited too long: running it again may well succeed.
_CONTENTION = (
    asyncpg.LockNotAvailableError
    | asyncpg.QueryCanceledError
    | asyncpg.SerializationError
    | asyncpg.DeadlockDetectedError
)


def is_retryable_write(error: BaseException) -> bool:
    """True when a transaction failed for a reason its retry may not meet: an outage, a lock or
    statement timeout, a serialization failure or a deadlock. Anything else (a constraint, bad
    data, a bug) fails the same way every time."""
    chain = _database_chain(error)
    return _is_outage(chain) or any(isinstance(link, _CONTENTION) for link in chain)
