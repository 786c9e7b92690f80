"""The database clock, which every `scheduledFor` is checked against."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.clock import db_now


@pytest.fixture
async def now(sessionmaker: async_sessionmaker[AsyncSession]) -> datetime:
    """The database clock, which `scheduledFor` is checked against."""
    async with sessionmaker() as session:
        return await db_now(session)
