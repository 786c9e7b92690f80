"""SQL for API keys. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import ApiKey, Workspace


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key: ApiKey
    workspace: Workspace
    db_now: datetime


async def find_by_digests(session: AsyncSession, digests: list[bytes]) -> KeyRecord | None:
    """The key whose digest is one of `digests`, with its workspace and the database clock."""
    row = (
        await session.execute(
            select(ApiKey, Workspace, func.now())
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .where(ApiKey.digest.in_(digests))
        )
    ).first()
    if row is None:
        return None
    return KeyRecord(key=row[0], workspace=row[1], db_now=row[2])


async def redigest(session: AsyncSession, key_id: str, digest: bytes, version: int) -> None:
    await session.execute(
        update(ApiKey).where(ApiKey.id == key_id).values(digest=digest, secret_version=version)
    )


async def touch_last_used(session: AsyncSession, key_id: str, interval: timedelta) -> None:
    """Set `last_used_at` unless another process did so within `interval`."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - interval),
        )
        .values(last_used_at=func.date_trunc("milliseconds", func.now()))
    )
