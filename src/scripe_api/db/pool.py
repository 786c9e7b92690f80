"""The hot paths' database: one asyncpg pool per process, with a per-workspace share of it.

Repositories hold their SQL as module constants; asyncpg prepares each statement once per
connection (its statement cache) and returns records, which services turn into responses
without ORM objects. JSON columns come and go as Python values (orjson both ways).

Every connection carries the service's time budgets (`statement_timeout`, `lock_timeout`,
`idle_in_transaction_session_timeout`) and a client-side command timeout. A connection Postgres
closed (a restart) is replaced at its next checkout; one that breaks while in use fails its
statement (a 503 for a request, a retried attempt for a worker). Nothing is left on a connection
between uses: locks are transaction-scoped, nothing LISTENs or SETs, and a connection returned
inside a transaction is closed, not reused.

**Fairness.** A request names its workspace when it takes a connection; one workspace holds at
most `db_tenant_share` of the pool at once in a process, and waits for its own connections
beyond that — so one tenant's burst never makes another tenant's request wait for the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from scripe_api.core.errors import AppError
from scripe_api.db.errors import DatabaseUnreachable
from scripe_api.settings import Settings

Connection: TypeAlias = asyncpg.Connection
Record: TypeAlias = asyncpg.Record

_COMMAND_GRACE_SECONDS = 5.0
# Enough for every hot statement and each shape of the list queries.
_STATEMENT_CACHE_SIZE = 512


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://…`) as a libpq URL asyncpg accepts."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(connection: Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


class _Share:
    __slots__ = ("semaphore", "users")

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.users = 0


class TenantShares:
    """At most `limit` connections held at once by one workspace (in this process)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._shares: dict[str, _Share] = {}

    async def enter(self, tenant: str) -> _Share:
        share = self._shares.get(tenant)
        if share is None:
            share = self._shares[tenant] = _Share(self._limit)
        share.users += 1
        try:
            await share.semaphore.acquire()
        except BaseException:
            self._leave(tenant, share)
            raise
        return share

    def exit(self, tenant: str, share: _Share) -> None:
        share.semaphore.release()
        self._leave(tenant, share)

    def _leave(self, tenant: str, share: _Share) -> None:
        share.users -= 1
        if share.users == 0:
            # Idle workspaces take no memory.
            del self._shares[tenant]


class ConnectionPool:
    """Connections to reuse: at most `max_size` open. Past `keep`, a connection idle for
    `idle_seconds` is closed (at the next release); before that it is reused. Closing every
    connection past `keep` at once made a worker whose concurrency hovers around `keep` open
    a Postgres backend every few jobs (a fork, catalog loads and re-prepared statements each).

    asyncpg's own pool spends 40-55 µs of Python per checkout (timers, proxies, a reset query
    per release by default) — a third of a whole read here; this one only does what the service
    needs: a checkout is a list pop. A connection Postgres closed is dropped at checkout; one
    that comes back inside a transaction, or from a failed use (it may be mid-cancellation;
    an `AppError`, the client's answer, is not a failure of the connection), is closed rather
    than reused. Waiting for a free connection is bounded (`TimeoutError`,
    which the API answers 503).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Connection]],
        *,
        max_size: int,
        keep: int,
        idle_seconds: float,
    ) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(max_size)
        self._keep = keep
        self._idle_seconds = idle_seconds
        # Idle connections with when each came back, oldest first; reuse takes the newest.
        self._idle: list[tuple[Connection, float]] = []
        self._open = 0
        self._closed = False

    async def acquire(self, timeout: float) -> Connection:  # noqa: ASYNC109
        if self._slots.locked():
            await asyncio.wait_for(self._slots.acquire(), timeout)
        else:
            await self._slots.acquire()
        try:
            while self._idle:
                connection, _ = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._open -= 1
            if self._closed:
                raise asyncpg.InterfaceError("the pool is closed")
            connection = await self._connect()
            self._open += 1
            return connection
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: Connection, *, is_clean: bool) -> None:
        try:
            reusable = (
                is_clean
                and not self._closed
                and not connection.is_closed()
                and not connection.is_in_transaction()
            )
            if reusable:
                now = time.monotonic()
                self._idle.append((connection, now))
                self._trim(now)
                return
            self._discard(connection)
        finally:
            self._slots.release()

    def _trim(self, now: float) -> None:
        """Close the connections past `keep` that nobody has needed for `idle_seconds`."""
        while len(self._idle) > self._keep and now - self._idle[0][1] > self._idle_seconds:
            connection, _ = self._idle.pop(0)
            self._discard(connection)

    def _discard(self, connection: Connection) -> None:
        self._open -= 1
        if not connection.is_closed():
            connection.terminate()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            self._open -= 1
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


class _Checkout:
    """`async with database.connection(tenant)`: a class, not a generator, on the hot path."""

    __slots__ = ("_connection", "_database", "_share", "_tenant")

    def __init__(self, database: Database, tenant: str | None) -> None:
        self._database = database
        self._tenant = tenant
        self._share: _Share | None = None
        self._connection: Connection | None = None

    async def __aenter__(self) -> Connection:
        database = self._database
        if self._tenant is not None:
            self._share = await database.shares.enter(self._tenant)
        try:
            pool = database.pool or await database.open()
            self._connection = await pool.acquire(database.settings.db_pool_timeout_seconds)
        except BaseException:
            self._leave()
            raise
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._connection is not None and self._database.pool is not None:
                # An answer to the client (an AppError: not found, a conflict, a bad key) is
                # raised after its statements finished: the connection is fine to reuse. Any
                # other failure may have left it mid-query.
                is_clean = exc_type is None or issubclass(exc_type, AppError)
                self._database.pool.release(self._connection, is_clean=is_clean)
        finally:
            self._leave()

    def _leave(self) -> None:
        if self._share is not None and self._tenant is not None:
            self._database.shares.exit(self._tenant, self._share)
            self._share = None


class Database:
    """The pool, opened lazily on first use (building it does no I/O)."""

    def __init__(self, settings: Settings, *, application_name: str) -> None:
        self.settings = settings
        self._application_name = application_name
        self.pool: ConnectionPool | None = None
        size = settings.db_pool_size + settings.db_max_overflow
        self.max_size = size
        self.shares = TenantShares(max(1, math.floor(size * settings.db_tenant_share)))

    async def open(self) -> ConnectionPool:
        if self.pool is None:
            self.pool = ConnectionPool(
                self._new_connection,
                max_size=self.max_size,
                keep=self.settings.db_pool_size,
                idle_seconds=self.settings.db_pool_idle_seconds,
            )
        return self.pool

    async def _new_connection(self) -> Connection:
        settings = self.settings
        try:
            connection: Connection = await self._connect(settings)
        except OSError as error:
            # Refused, a missing socket file (a stopped local server), an unknown host: the
            # database cannot be reached, whatever the OSError's kind.
            raise DatabaseUnreachable(f"cannot connect to Postgres: {error}") from error
        try:
            await _init_connection(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def _connect(self, settings: Settings) -> Connection:
        return await asyncpg.connect(
            asyncpg_dsn(settings.database_url),
            timeout=settings.db_connect_timeout_seconds,
            # Also bounds a host that stops answering without resetting the connection.
            command_timeout=settings.db_statement_timeout_ms / 1000 + _COMMAND_GRACE_SECONDS,
            statement_cache_size=_STATEMENT_CACHE_SIZE,
            server_settings={
                "application_name": self._application_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "lock_timeout": str(settings.db_lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(
                    settings.db_idle_in_transaction_timeout_ms
                ),
                "timezone": "UTC",
            },
        )

    def connection(self, tenant: str | None = None) -> _Checkout:
        """A pooled connection, within `tenant`'s share of the pool when one is named."""
        return _Checkout(self, tenant)

    async def fetchrow(self, query: str, *args: Any, tenant: str | None = None) -> Record | None:
        async with self.connection(tenant) as connection:
            row: Record | None = await connection.fetchrow(query, *args)
            return row

    async def fetch(self, query: str, *args: Any, tenant: str | None = None) -> list[Record]:
        async with self.connection(tenant) as connection:
            rows: list[Record] = await connection.fetch(query, *args)
            return rows

    async def fetchval(self, query: str, *args: Any, tenant: str | None = None) -> Any:
        async with self.connection(tenant) as connection:
            return await connection.fetchval(query, *args)

    async def execute(self, query: str, *args: Any, tenant: str | None = None) -> str:
        async with self.connection(tenant) as connection:
            status: str = await connection.execute(query, *args)
            return status

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await pool.close()
