"""Workspace management (the CLI's; the public API has no workspace writes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.clock import utc_now
from scripe_api.core.errors import NotFound
from scripe_api.core.ids import new_id
from scripe_api.db.models import Workspace
from scripe_api.workspaces import repository


async def create_workspace(session: AsyncSession, name: str, plan: str) -> Workspace:
    workspace = Workspace(id=new_id("org"), name=name, plan=plan)
    repository.add(session, workspace)
    await session.flush()
    return workspace


async def get_workspace(session: AsyncSession, workspace_id: str) -> Workspace:
    workspace = await repository.get(session, workspace_id)
    if workspace is None:
        raise NotFound(f"Workspace '{workspace_id}' was not found.")
    return workspace


async def list_workspaces(
    session: AsyncSession, *, include_deleted: bool = False
) -> list[Workspace]:
    return await repository.list_all(session, include_deleted=include_deleted)


async def set_plan(session: AsyncSession, workspace_id: str, plan: str) -> Workspace:
    workspace = await get_workspace(session, workspace_id)
    workspace.plan = plan
    await session.flush()
    return workspace


async def delete_workspace(session: AsyncSession, workspace_id: str) -> Workspace:
    """Soft delete: data stays, every key of the workspace answers 401 invalid_token."""
    workspace = await get_workspace(session, workspace_id)
    workspace.deleted_at = utc_now()
    await session.flush()
    return workspace
