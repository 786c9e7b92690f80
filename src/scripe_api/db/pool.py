"""The hot paths' database: one asyncpg pool per process, with a per-workspace share of it.

Repositories hold their SQL as module constants; asyncpg prepares each statement once per
connection (its statement cache) and returns records, which services turn into responses
without ORM objects. JSON columns come and go as Python values (orjson both ways).

Every connection carries the service's time budgets (`statement_timeout`, `lock_timeout`,
`idle_in_transaction_session_timeout`) and a client-side command timeout. A connection Postgres
closed (a restart) is replaced at its next checkout; one that breaks while in use fails its
statement (a 503 for a request, a retried attempt for a worker).

**Fairness.** A request names its workspace when it takes a connection; one workspace holds at
most `db_tenant_share` of the pool at once in a process, and waits for its own connections
beyond that — so one tenant's burst never makes another tenant's request wait for the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

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


@dataclass
class _Share:
    semaphore: asyncio.Semaphore
    users: int = 0


class TenantShares:
    """At most `limit` connections held at once by one workspace (in this process)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._shares: dict[str, _Share] = {}

    @contextlib.asynccontextmanager
    async def hold(self, tenant: str) -> AsyncIterator[None]:
        share = self._shares.get(tenant)
        if share is None:
            share = self._shares[tenant] = _Share(asyncio.Semaphore(self._limit))
        share.users += 1
        try:
            async with share.semaphore:
                yield
        finally:
            share.users -= 1
            if share.users == 0:
                # Idle workspaces take no memory.
                del self._shares[tenant]


class Database:
    """The pool, opened lazily on first use (building it does no I/O)."""

    def __init__(self, settings: Settings, *, application_name: str) -> None:
        self.settings = settings
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        size = settings.db_pool_size + settings.db_max_overflow
        self.max_size = size
        self.shares = TenantShares(max(1, math.floor(size * settings.db_tenant_share)))

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                settings = self.settings
                self._pool = await asyncpg.create_pool(
                    asyncpg_dsn(settings.database_url),
                    min_size=min(1, self.max_size),
                    max_size=self.max_size,
                    timeout=settings.db_connect_timeout_seconds,
                    # Also bounds a host that stops answering without resetting the connection.
                    command_timeout=settings.db_statement_timeout_ms / 1000
                    + _COMMAND_GRACE_SECONDS,
                    statement_cache_size=_STATEMENT_CACHE_SIZE,
                    max_inactive_connection_lifetime=300.0,
                    init=_init_connection,
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
            return self._pool

    @contextlib.asynccontextmanager
    async def connection(self, tenant: str | None = None) -> AsyncIterator[Connection]:
        """A pooled connection, within `tenant`'s share of the pool when one is named."""
        pool = self._pool or await self._open()
        timeout = self.settings.db_pool_timeout_seconds
        if tenant is None:
            async with pool.acquire(timeout=timeout) as connection:
                yield connection
            return
        async with self.shares.hold(tenant), pool.acquire(timeout=timeout) as connection:
            yield connection

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
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
