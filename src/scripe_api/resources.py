"""Long-lived resources shared by the API lifespan and the worker startup: one builder for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.db.session import create_engine, create_sessionmaker
from scripe_api.db.transaction import UnitOfWork
from scripe_api.settings import Settings


class LeanConnectionPool(ConnectionPool):
    """redis-py's pool without what costs a third of a command here: an asyncio lock around a
    list pop, a non-blocking read of every connection before each use, and an event dispatch at
    each release. The read check guards against a reply left unread on a connection; redis-py
    disconnects a connection whose command was interrupted (any exception, a cancellation
    included), so none comes back to the pool with data pending."""

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        # Typed in redis-py's source, not in its annotations.
        connection = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.connect()  # at once when it is connected already
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: Any) -> None:
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)


def create_redis(settings: Settings, *, for_subscription: bool = False) -> ArqRedis:
    """A Redis client that is also an arq queue client. Nothing connects until first use.

    Short socket and connect timeouts: a hung Redis must not hang requests. A subscription
    connection idles between messages, so it has no read timeout (only a connect timeout).
    A command that meets a dropped connection (Redis restarted since it was pooled) reconnects
    and runs once more, so stale pooled connections cost no failed command once Redis is back.
    Not the subscription's: a lost subscription may have missed notifications, and its owner
    must see the loss (to wake every waiter) rather than reconnect silently.
    """
    retry: dict[str, Any] = (
        {}
        if for_subscription
        else {"retry": Retry(NoBackoff(), 1), "retry_on_error": [RedisConnectionError]}
    )
    pool = LeanConnectionPool.from_url(
        settings.redis_url,
        socket_timeout=None if for_subscription else settings.redis_socket_timeout_seconds,
        socket_connect_timeout=settings.redis_socket_timeout_seconds,
        max_connections=256,
        **retry,
    )
    return ArqRedis(connection_pool=pool)


@dataclass
class Resources:
    settings: Settings
    # The hot paths' pool (requests, job attempts, the sweep): statements prepared on asyncpg.
    database: Database
    # The ORM's small pool, for the rare paths (operators' commands, housekeeping).
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: ArqRedis

    @classmethod
    def open(cls, settings: Settings, *, application_name: str = "scripe-api") -> Resources:
        engine = create_engine(settings, application_name=application_name)
        return cls(
            settings=settings,
            database=Database(settings, application_name=application_name),
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=create_redis(settings),
        )

    def unit_of_work(self, tenant: str | None = None) -> UnitOfWork:
        """One transaction on the hot path's pool (within `tenant`'s share when named)."""
        return UnitOfWork(self.database, tenant)

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)
        await self.database.close()
        await self.engine.dispose()
