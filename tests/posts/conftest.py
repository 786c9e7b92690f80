"""The database clock, which every `scheduledFor` is checked against."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.clock import db_now


@pytest.fixture
async def now(sessionmaker: async_sessionmaker[AsyncSession]) -> datetime:
    """The database clock, which `scheduledFor` is checked against."""
    return await db_now(sessionmaker)
