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

from scripe_api.db.session import UnitOfWork, create_engine, create_sessionmaker, read_only
from scripe_api.settings import Settings


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
    pool = ConnectionPool.from_url(
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
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    # Reads that need no transaction: each statement runs on its own (AUTOCOMMIT), which saves
    # the BEGIN and COMMIT round trips of every GET.
    read_sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, settings: Settings, *, application_name: str = "scripe-api") -> Resources:
        engine = create_engine(settings, application_name=application_name)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=create_redis(settings),
            read_sessionmaker=create_sessionmaker(read_only(engine)),
        )

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """One transaction; `read_only`: a request that only reads, statement by statement."""
        return UnitOfWork(self.read_sessionmaker if read_only else self.sessionmaker)

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)
        await self.engine.dispose()
