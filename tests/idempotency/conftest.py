"""Idempotency tests share one database with the whole session: leave no job for a later sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.workers_support import settle_unfinished_jobs


@pytest.fixture(autouse=True)
async def settled_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    yield
    await settle_unfinished_jobs(sessionmaker)
