from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.models import Project
from scripe_api.db.pool import Connection, Database, Record
from scripe_api.projects import repository
from scripe_api.projects.voice import ProjectVoice
from scripe_api.workspaces.service import get_workspace


async def get_project(connection: Connection, principal: Principal, project_id: str) -> Record:
    project = await repository.get(connection, principal.workspace_id, project_id)
    if project is None:
        raise NotFound(f"Project '{project_id}' was not found.")
    return project


async def require_project(connection: Connection, principal: Principal, project_id: str) -> None:
    """404 unless the project is the workspace's."""
    if not await repository.exists(connection, principal.workspace_id, project_id):
        raise NotFound(f"Project '{project_id}' was not found.")


async def read_project(database: Database, principal: Principal, project_id: str) -> Record:
    async with database.connection(principal.workspace_id) as connection:
        return await get_project(connection, principal, project_id)


async def list_projects(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    request = codec.page_request(limit, cursor, "projects", principal.workspace_id, {})
    async with database.connection(principal.workspace_id) as connection:
        return await repository.list_page(connection, principal.workspace_id, request, codec)


async def create_project(
    session: AsyncSession,
    workspace_id: str,
    *,
    name: str,
    type: str = "PERSONAL_BRAND",
    status: str = "ACTIVE",
    url: str | None = None,
    voice: ProjectVoice | None = None,
) -> Project:
    await get_workspace(session, workspace_id)
    voice = voice or ProjectVoice()
    project = Project(
        id=new_id("proj"),
        workspace_id=workspace_id,
        name=name,
        type=type,
        status=status,
        url=url,
        voice_profile=voice.profile.model_dump(by_alias=True),
        voice_samples=list(voice.samples),
        content_pillars=[pillar.model_dump(by_alias=True) for pillar in voice.pillars],
    )
    repository.add(session, project)
    await session.flush()
    return project


async def list_workspace_projects(session: AsyncSession, workspace_id: str) -> list[Project]:
    await get_workspace(session, workspace_id)
    return await repository.list_all(session, workspace_id)


async def get_project_for_operator(session: AsyncSession, project_id: str) -> Project:
    """Any workspace's project, for the CLI (API requests go through `get_project`)."""
    project = await repository.get_unscoped(session, project_id)
    if project is None:
        raise NotFound(f"Project '{project_id}' was not found.")
    return project
