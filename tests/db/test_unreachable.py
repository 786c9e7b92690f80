"""A database that cannot be reached is an outage however the socket fails: requests answer
503 and a job's attempt is retried, never failed for good (a stopped local Postgres leaves no
socket file, which asyncpg reports as FileNotFoundError, not a connection error)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
