"""`scripe-api workspaces …`: create, list, change plan, soft delete."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption, checked_name
from scripe_api.cli.output import say, table, when
from scripe_api.db.models import Workspace
from scripe_api.settings import Plan, Settings
from scripe_api.workspaces import service

app = typer.Typer(
    help="Workspaces own projects and API keys; their plan decides API access.",
    no_args_is_help=True,
)

WorkspaceId = Annotated[str, typer.Argument(help="Workspace id (org_…).", show_default=False)]


@app.command("create")
def create_workspace(
    name: Annotated[str, typer.Option(help="Display name.", show_default=False)],
    plan: Annotated[
        Plan, typer.Option(case_sensitive=False, help="Plan (API access: ADVANCED and up).")
    ] = "ADVANCED",
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Create a workspace and print its id."""
    name = checked_name(name)
    settings = target_settings(data_dir)
    workspace = asyncio.run(_create(settings, name, plan))
    say(f"Created workspace {workspace.id} ({workspace.name}, plan {workspace.plan}).")


async def _create(settings: Settings, name: str, plan: str) -> Workspace:
    async with admin_session(settings) as session:
        return await service.create_workspace(session, name, plan)


@app.command("list")
def list_workspaces(
    include_deleted: Annotated[
        bool, typer.Option("--all", help="Include deleted workspaces.", show_default=False)
    ] = False,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """List workspaces, newest first."""
    settings = target_settings(data_dir)
    workspaces = asyncio.run(_list(settings, include_deleted=include_deleted))
    columns = ["ID", "NAME", "PLAN", "CREATED"] + (["DELETED"] if include_deleted else [])
    rows = [
        [w.id, w.name, w.plan, when(w.created_at)]
        + ([when(w.deleted_at)] if include_deleted else [])
        for w in workspaces
    ]
    table(columns, rows, empty="No workspaces.")


async def _list(settings: Settings, *, include_deleted: bool) -> list[Workspace]:
    async with admin_session(settings) as session:
        return await service.list_workspaces(session, include_deleted=include_deleted)


@app.command("set-plan")
def set_plan(
    workspace_id: WorkspaceId,
    plan: Annotated[Plan, typer.Argument(case_sensitive=False, show_default=False)],
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Change a workspace's plan (FREE and SOLO lose API access at once)."""
    settings = target_settings(data_dir)
    workspace = asyncio.run(_set_plan(settings, workspace_id, plan))
    say(f"Workspace {workspace.id} is now on plan {workspace.plan}.")


async def _set_plan(settings: Settings, workspace_id: str, plan: str) -> Workspace:
    async with admin_session(settings) as session:
        return await service.set_plan(session, workspace_id, plan)


@app.command("delete")
def delete_workspace(
    workspace_id: WorkspaceId,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Soft-delete a workspace: its data stays, its keys stop working."""
    settings = target_settings(data_dir)
    workspace = asyncio.run(_delete(settings, workspace_id))
    say(f"Deleted workspace {workspace.id}; its API keys now answer 401 invalid_token.")


async def _delete(settings: Settings, workspace_id: str) -> Workspace:
    async with admin_session(settings) as session:
        return await service.delete_workspace(session, workspace_id)
