"""Engine construction and the unit of work: one transaction, with work that joins it just
before commit and work that runs after it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
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
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError from error


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
