"""The database clock, as tests read it (schedules and key expiry are judged on it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def db_now(sessionmaker: async_sessionmaker[AsyncSession]) -> datetime:
    async with sessionmaker() as session:
        now = await session.scalar(select(func.now()))
    assert isinstance(now, datetime)
    return now
