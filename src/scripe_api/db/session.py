"""Engine construction and the unit of work: one transaction, with work that joins it just
before commit and work that runs after it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from scripe_api.settings import Settings

logger = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]
# Receives what the edge answers as of the commit (see `UnitOfWork.commit`).
BeforeCommit = Callable[[object], Awaitable[None]]


def create_engine(settings: Settings, *, application_name: str = "scripe-api") -> AsyncEngine:
    """An engine whose every connection carries the service's time budgets."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # A connection broken by a Postgres restart is detected before use and replaced,
        # so the pool recovers without restarting the process.
        pool_pre_ping=True,
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
