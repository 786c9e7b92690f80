"""SQL for workspaces. Flushes, never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import Workspace


async def get(
    session: AsyncSession, workspace_id: str, *, include_deleted: bool = False
) -> Workspace | None:
    statement = select(Workspace).where(Workspace.id == workspace_id)
    if not include_deleted:
        statement = statement.where(Workspace.deleted_at.is_(None))
    workspace: Workspace | None = await session.scalar(statement)
    return workspace


async def list_all(session: AsyncSession, *, include_deleted: bool = False) -> list[Workspace]:
    statement = select(Workspace).order_by(Workspace.created_at.desc(), Workspace.id.desc())
    if not include_deleted:
        statement = statement.where(Workspace.deleted_at.is_(None))
    return list((await session.scalars(statement)).all())


def add(session: AsyncSession, workspace: Workspace) -> None:
    session.add(workspace)
