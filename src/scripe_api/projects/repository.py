"""SQL for projects. Every query is scoped to a workspace: a foreign id is simply not found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.models import Project


async def get(session: AsyncSession, workspace_id: str, project_id: str) -> Project | None:
    if not can_exist(project_id):
        return None
    project: Project | None = await session.scalar(
        select(Project).where(Project.workspace_id == workspace_id, Project.id == project_id)
    )
    return project


async def list_page(
    session: AsyncSession, workspace_id: str, request: PageRequest, codec: CursorCodec
) -> Page[Project]:
    statement = select(Project).where(Project.workspace_id == workspace_id)
    return await fetch_page(
        session,
        statement,
        (Project.created_at, Project.id),
        request,
        codec,
        lambda p: Position(p.created_at, p.id),
    )


def add(session: AsyncSession, project: Project) -> None:
    session.add(project)


async def list_all(session: AsyncSession, workspace_id: str) -> list[Project]:
    rows = await session.scalars(
        select(Project)
        .where(Project.workspace_id == workspace_id)
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    return list(rows.all())


async def get_unscoped(session: AsyncSession, project_id: str) -> Project | None:
    """A project by id alone: for operators (the CLI), never for API requests."""
    if not can_exist(project_id):
        return None
    project: Project | None = await session.scalar(select(Project).where(Project.id == project_id))
    return project
