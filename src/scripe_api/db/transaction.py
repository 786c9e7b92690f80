"""One transaction owned by the edge (a request or a job attempt), on the hot path's pool.

The connection is taken on first use (within the tenant's share of the pool) and given back at
commit or rollback, so work after the commit — a sync wait, an enqueue — holds none. Work
registered with `before_commit` (an Idempotency-Key record) joins the transaction as its last
step; work registered with `after_commit` (enqueueing, notifications) runs once the commit
succeeded, and a failure there is logged, never turned into an error for durable work.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from asyncpg.transaction import Transaction

from scripe_api.db.pool import Connection, Database

logger = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]
# Receives what the edge answers as of the commit (see `UnitOfWork.commit`).
BeforeCommit = Callable[[Connection, object], Awaitable[None]]


class UnitOfWork:
    def __init__(self, database: Database, tenant: str | None = None) -> None:
        self._database = database
        self._tenant = tenant
        self._holding: contextlib.AbstractAsyncContextManager[Connection] | None = None
        self._connection: Connection | None = None
        self._transaction: Transaction | None = None
        self._before_commit: list[BeforeCommit] = []
        self._after_commit: list[AfterCommit] = []
        self._committed = False

    @property
    def is_committed(self) -> bool:
        return self._committed

    async def connection(self) -> Connection:
        """The transaction's connection (BEGIN is sent with the first use)."""
        if self._connection is None:
            holding = self._database.connection(self._tenant)
            connection = await holding.__aenter__()
            self._holding, self._connection = holding, connection
            try:
                self._transaction = connection.transaction()
                await self._transaction.start()
            except BaseException:
                await self._release()
                raise
        return self._connection

    def before_commit(self, callback: BeforeCommit) -> None:
        self._before_commit.append(callback)

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def commit(self, result: object = None) -> None:
        """Commit. `result` is what the edge answers as of this commit (a handler that goes on
        working after committing passes it here); before-commit work receives it."""
        before, self._before_commit = self._before_commit, []
        if before:
            connection = await self.connection()
            for step in before:
                await step(connection, result)
        if self._transaction is not None:
            try:
                await self._transaction.commit()
            finally:
                self._transaction = None
                await self._release()
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
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            try:
                await transaction.rollback()
            finally:
                await self._release()

    async def _release(self) -> None:
        holding, self._holding, self._connection = self._holding, None, None
        if holding is not None:
            await holding.__aexit__(None, None, None)

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not self._committed:
            await self.commit()
        else:
            await self.rollback()
