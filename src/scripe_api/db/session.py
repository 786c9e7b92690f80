"""The ORM's engine: the rare paths' pool (operators' commands, housekeeping, migrations).
The hot paths run on `db.pool.Database`."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from scripe_api.settings import Settings

logger = logging.getLogger(__name__)

_CHECKED_IN_AT = "scripe_checked_in_at"
_COMMAND_GRACE_SECONDS = 5.0
_READ_KEYWORDS = ("SELECT", "WITH", "SHOW")

AfterCommit = Callable[[], Awaitable[None]]
# Receives what the edge answers as of the commit (see `UnitOfWork.commit`).
BeforeCommit = Callable[[object], Awaitable[None]]


def create_engine(settings: Settings, *, application_name: str = "scripe-api") -> AsyncEngine:
    """An engine whose every connection carries the service's time budgets."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_orm_pool_size,
        max_overflow=settings.db_orm_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # A client-side bound too: statement_timeout cannot help when the host stops
            # answering without resetting the connection.
            "command_timeout": settings.db_statement_timeout_ms / 1000 + _COMMAND_GRACE_SECONDS,
            "server_settings": {
                "application_name": application_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "lock_timeout": str(settings.db_lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(
                    settings.db_idle_in_transaction_timeout_ms
                ),
                "timezone": "UTC",
            },
        },
    )
    _ping_when_idle(engine, settings.db_ping_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling, only where it pays: a connection that sat idle (when a
    Postgres restart most likely broke it) is pinged at checkout and replaced if dead. Checking
    every checkout (`pool_pre_ping`) costs three round trips per transaction with asyncpg, more
    than a whole read. A connection broken while busy fails its statement instead: a 503 (API)
    or a retried attempt (worker), and SQLAlchemy then recycles every older connection."""

    # A fresh connection counts as just used: it needs no ping.
    @event.listens_for(engine.sync_engine, "connect")
    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        if time.monotonic() - record.info.get(_CHECKED_IN_AT, 0.0) < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # A dead idle connection means Postgres restarted: every connection opened before
            # now is replaced at its next checkout, not only this one.
            raise InvalidatePoolError from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
