"""A Postgres and a Redis of the fault suite's own: its tests stop, restart and empty them, so
they never touch the servers the rest of the suite shares.

One stack for the whole package (initdb is the slow part); every test uses its own workspace,
and a test that stops a server starts it again before it ends.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from scripe_api.db import migrations
from scripe_api.embedded import EmbeddedStack
from scripe_api.settings import Settings
from tests.conftest import make_settings
from tests.factories import Factory
from tests.workers_support import settle_unfinished_jobs


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[EmbeddedStack]:
    # Not under pytest's basetemp (see tests/conftest.py: Postgres runs as another user as root).
    folder = Path(tempfile.mkdtemp(prefix="scripe-faults-"))
    stack = EmbeddedStack(folder, durable=False)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def fault_settings(fault_stack: EmbeddedStack) -> Settings:
    """Settings on the fault stack, with the suite's short job timings; migrated to head."""
    # Polling many jobs until they settle must not meet the read limit (tests of the limiter
    # itself set their own).
    settings = make_settings(
        fault_stack.postgres.url(),
        fault_stack.redis.url(),
        rate_limits={"read": 100_000, "write": 100_000, "ai": 100_000},
    )
    await asyncio.to_thread(migrations.upgrade, settings)
    return settings


@pytest.fixture(scope="session")
async def fault_sessionmaker(
    fault_settings: Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # No pool: the tests restart Postgres under it, and a fresh connection per use needs no
    # pre-ping to notice.
    engine = create_async_engine(fault_settings.database_url, poolclass=NullPool)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def fault_factory(
    fault_sessionmaker: async_sessionmaker[AsyncSession], fault_settings: Settings
) -> Factory:
    return Factory(fault_sessionmaker, fault_settings)


@pytest.fixture
async def fault_redis(fault_settings: Settings) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(fault_settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def settled_jobs(
    fault_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[None]:
    """Overrides the suite's: the fault tests' jobs live in the fault stack's database."""
    yield
    await settle_unfinished_jobs(fault_sessionmaker)
