"""Engine construction and the unit of work: one transaction, with work that joins it just
before commit and work that runs after it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
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
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
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


class WriteInReadOnlyUnit(RuntimeError):
    """A statement that writes, run by a read-only unit of work (a GET)."""


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads that need no transaction (each statement on its own, AUTOCOMMIT),
    refusing any statement that writes: under AUTOCOMMIT a write would commit at once, outside
    any unit of work, and never roll back."""
    reader = engine.execution_options(isolation_level="AUTOCOMMIT", scripe_read_only=True)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_writes(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if not conn.get_execution_options().get("scripe_read_only"):
            return
        writes = context is not None and (context.isinsert or context.isupdate or context.isdelete)
        if writes or not statement.lstrip().upper().startswith(_READ_KEYWORDS):
            raise WriteInReadOnlyUnit(statement.split(None, 1)[0])

    return reader


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class UnitOfWork:
    """One transaction owned by the edge (a request or a job).

    Repositories flush into `session`; the edge commits once. Work registered with
    `before_commit` (the idempotency record) joins the transaction as its last step, so it
    commits, or fails, with the rest. Work registered with `after_commit` (enqueueing,
    notifications) runs only once the commit succeeded, and a failure there is logged, never
    turned into an error for work that is already durable.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.session: AsyncSession = sessionmaker()
        self._before_commit: list[BeforeCommit] = []
        self._after_commit: list[AfterCommit] = []
        self._committed = False

    @property
    def is_committed(self) -> bool:
        return self._committed

    def before_commit(self, callback: BeforeCommit) -> None:
        self._before_commit.append(callback)

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def commit(self, result: object = None) -> None:
        """Commit. `result` is what the edge answers as of this commit (a handler that goes on
        working after committing passes it here); before-commit work receives it."""
        before, self._before_commit = self._before_commit, []
        for step in before:
            await step(result)
        await self.session.commit()
        self._committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                logger.exception("post-commit step failed; the committed work stands")

    async def rollback(self) -> None:
        self._before_commit.clear()
        self._after_commit.clear()
        await self.session.rollback()

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            await self.session.close()
