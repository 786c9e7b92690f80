"""A database that cannot be reached is an outage however the socket fails: requests answer
503 and a job's attempt is retried, never failed for good (a stopped local Postgres leaves no
socket file, which asyncpg reports as FileNotFoundError, not a connection error)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.errors import is_database_outage, is_retryable_write
from scripe_api.db.pool import Database
from scripe_api.settings import Settings
from tests.cli.conftest import free_port


@pytest.mark.parametrize("where", ["socket folder without a server", "port without a server"])
async def test_a_database_that_cannot_be_reached_is_an_outage(
    settings: Settings, tmp_path: Path, where: str
) -> None:
    if where.startswith("socket"):
        url = f"postgresql+asyncpg://postgres@/scripe?host={tmp_path}"
    else:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/scripe"
    database = Database(
        settings.model_copy(update={"database_url": url}), application_name="scripe-api-test"
    )
    with pytest.raises(ConnectionError) as caught:
        async with database.connection() as connection:
            await connection.fetchval("SELECT 1")
    assert is_database_outage(caught.value), repr(caught.value)
    assert is_retryable_write(caught.value), repr(caught.value)
    await database.close()


async def test_a_session_the_server_ends_is_an_outage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """pg_terminate_backend (what a fast shutdown or a failover does to a session) mid-statement:
    a job that meets it is retried and a request answers 503, never failed for good or 500."""
    name = "scripe-api-terminated"
    database = Database(settings, application_name=name)

    async def sleep_in_postgres() -> None:
        async with database.connection() as connection:
            await connection.fetchval("SELECT pg_sleep(30)")

    statement = asyncio.create_task(sleep_in_postgres())
    async with sessionmaker() as session:
        terminated = 0
        while not terminated:
            assert not statement.done(), statement
            result = await session.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND state = 'active'"
                ),
                {"name": name},
            )
            terminated = int(result.scalar_one())
            await session.commit()  # the next look reads a fresh pg_stat_activity
            await asyncio.sleep(0.02)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the kind is what is asserted
        await statement
    assert is_database_outage(caught.value), repr(caught.value)
    assert is_retryable_write(caught.value), repr(caught.value)
    await database.close()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another server"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=["57P01 admin shutdown", "57P02 crash shutdown", "53300 too many connections"],
)
def test_what_the_server_says_when_it_ends_sessions_is_an_outage(error: Exception) -> None:
    """Depending on timing, a terminated session reports the server's FATAL message (these)
    rather than a dropped connection; at connect, a full server says 53300."""
    assert is_database_outage(error)
    assert is_retryable_write(error)
