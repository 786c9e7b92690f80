"""Knowledge tests share one database with the whole session: leave no job for a later sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.cli.conftest import Cli, operator_environment
from tests.workers_support import settle_unfinished_jobs


@pytest.fixture(autouse=True)
async def settled_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    yield
    await settle_unfinished_jobs(sessionmaker)


@pytest.fixture
def cli(base_settings: Settings, migrated: None, tmp_path: Path) -> Cli:
    """The CLI pointed at the test database."""
    return Cli(operator_environment(base_settings), tmp_path)
