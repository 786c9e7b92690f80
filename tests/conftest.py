"""Real Postgres and Redis for every test: embedded by default (one pair per test session), or
the servers named by SCRIPE_TEST_DATABASE_URL / SCRIPE_TEST_REDIS_URL."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from scripe_api.db import migrations
from scripe_api.db.base import Base
from scripe_api.db.pool import Database
from scripe_api.embedded import EmbeddedStack
from scripe_api.main import ScripeApp, create_app
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.workers_support import settle_unfinished_jobs

TEST_SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    database_url = os.environ.get("SCRIPE_TEST_DATABASE_URL")
    redis_url = os.environ.get("SCRIPE_TEST_REDIS_URL")
    if (database_url or redis_url) and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        # Every test process resets the database it is given: they would erase each other's.
        pytest.exit(
            "SCRIPE_TEST_DATABASE_URL/SCRIPE_TEST_REDIS_URL need a single test process "
            "(plain pytest, or make test PYTEST_WORKERS=0)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    if database_url and redis_url:
        yield database_url, redis_url
        return
    # Not under pytest's basetemp: pytest resets that folder to mode 0700 whenever a session
    # starts, and Postgres runs as another user when the suite runs as root.
    folder = Path(tempfile.mkdtemp(prefix="scripe-test-"))
    stack = EmbeddedStack(folder, durable=False)
    try:
        embedded_db, embedded_redis = stack.start()
        yield database_url or embedded_db, redis_url or embedded_redis
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


def make_settings(database_url: str, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_keys": {1: TEST_SECRET},
        # Uploaded files (the disk backend) go to a folder of the test run, not the checkout.
        "data_dir": Path(tempfile.mkdtemp(prefix="scripe-test-data-")),
        "auth_cache_ttl_seconds": 0.2,
        "db_pool_size": 5,
        # Job timing short enough that recovery paths run in a second or two.
        "job_lease_seconds": 1.5,
        "job_heartbeat_seconds": 0.3,
        "job_retry_backoff_seconds": 0.05,
        "job_retry_backoff_max_seconds": 0.2,
        "sweep_interval_seconds": 1,
        "sweep_queued_grace_seconds": 0.5,
        "worker_poll_delay_seconds": 0.02,
        "worker_shutdown_grace_seconds": 1,
        "estimate_refresh_seconds": 0,
        # An event stream of a job that never ends must not hold a test for ten minutes.
        "events_stream_max_seconds": 5.0,
        # Webhooks: retries in fractions of a second, receivers on loopback (allowed in tests).
        "webhook_poll_seconds": 0.05,
        "webhook_retry_schedule_seconds": [0.1, 0.2, 0.3, 0.4, 0.5],
        "webhook_timeout_seconds": 2.0,
        "webhook_lease_seconds": 3.0,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def base_settings(server_urls: tuple[str, str]) -> Settings:
    return make_settings(*server_urls)


@pytest.fixture(scope="session")
async def migrated(base_settings: Settings) -> None:
    """A clean schema at head, once per session (an external database is reset first)."""
    engine = create_async_engine(base_settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await asyncio.to_thread(migrations.upgrade, base_settings)


@pytest.fixture(scope="session")
async def engine(base_settings: Settings, migrated: None) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(base_settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def database(base_settings: Settings, migrated: None) -> AsyncIterator[Database]:
    """The hot path's pool, for tests that drive repositories directly."""
    database = Database(base_settings, application_name="scripe-tests")
    yield database
    await database.close()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture(autouse=True)
async def settled_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Every test shares one database and the sweep is service-wide by design: end whatever job
    a test leaves QUEUED or RUNNING, so no later test's worker picks it up."""
    yield
    await settle_unfinished_jobs(sessionmaker)


@pytest.fixture
async def redis(base_settings: Settings) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(base_settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """Override per test with `settings.model_copy(update=…)` and `app_for(settings)`."""
    return base_settings


@pytest.fixture
def factory(sessionmaker: async_sessionmaker[AsyncSession], base_settings: Settings) -> Factory:
    return Factory(sessionmaker, base_settings)


@pytest.fixture
async def app(settings: Settings, migrated: None, redis: Redis) -> AsyncIterator[ScripeApp]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: ScripeApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def tables() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables]
