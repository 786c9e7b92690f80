"""SQL for projects. Every query of a request is scoped to a workspace: a foreign id is simply
not found. Requests read through asyncpg; operators (the CLI) create and list through the ORM.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.pagination import CursorCodec, Page, PageRequest
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.models import Project
from scripe_api.db.pool import Connection, Record

PROJECT_COLUMNS = "id, name, type, status, url, created_at"
READ_PROJECT = f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1 AND workspace_id = $2"
PROJECT_EXISTS = "SELECT 1 FROM projects WHERE id = $1 AND workspace_id = $2"


async def get(connection: Connection, workspace_id: str, project_id: str) -> Record | None:
    if not can_exist(project_id):
        return None
    row: Record | None = await connection.fetchrow(READ_PROJECT, project_id, workspace_id)
    return row


async def exists(connection: Connection, workspace_id: str, project_id: str) -> bool:
    if not can_exist(project_id):
        return False
    return await connection.fetchval(PROJECT_EXISTS, project_id, workspace_id) is not None


async def list_page(
    connection: Connection, workspace_id: str, request: PageRequest, codec: CursorCodec
) -> Page[Record]:
    return await fetch_page(
        connection,
        f"SELECT {PROJECT_COLUMNS} FROM projects",
        ("workspace_id = $1",),
        (workspace_id,),
        request,
        codec,
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
