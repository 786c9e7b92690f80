"""`scripe-api keys …`: create (the secret is shown once), list (never a secret), revoke."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from scripe_api.auth import management
from scripe_api.auth.keys import ALL_SCOPES
from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.errors import CliError
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption, checked_name
from scripe_api.cli.output import say, table, when
from scripe_api.db.models import ApiKey
from scripe_api.settings import Settings
from scripe_api.workspaces.service import get_workspace

app = typer.Typer(
    help="API keys: shown once at creation, stored only as a digest.", no_args_is_help=True
)

WorkspaceOption = Annotated[
    str, typer.Option("--workspace", help="Workspace id (org_…).", show_default=False)
]


@app.command("create")
def create_key(
    workspace_id: WorkspaceOption,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    scopes: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A scope to grant; repeat for several (default: every scope). Scopes: "
            + ", ".join(ALL_SCOPES),
            show_default=False,
        ),
    ] = None,
    is_test: Annotated[
        bool, typer.Option("--test", help="A test key (scripe_sk_test_…): offline generator, 0¢.")
    ] = False,
    expires: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="The key stops working at 00:00 UTC that day.",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Create a key and print its secret, once."""
    name = checked_name(name)
    expires_at = expires.replace(tzinfo=UTC) if expires is not None else None
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise CliError("--expires must be a future date (the key expires at 00:00 UTC that day)")
    settings = target_settings(data_dir)
    created = asyncio.run(
        _create(settings, workspace_id, name, scopes or list(ALL_SCOPES), is_test, expires_at)
    )
    key = created.key
    expiry = f", expires {when(key.expires_at)}" if key.expires_at else ""
    say(
        f"Created {key.mode} key {key.id} ({key.name}) for workspace {key.workspace_id}, "
        f"scopes: {_scopes(key.scopes)}{expiry}."
    )
    say("Secret (shown once; it cannot be recovered, store it now):")
    say(created.secret)


async def _create(
    settings: Settings,
    workspace_id: str,
    name: str,
    scopes: list[str],
    is_test: bool,
    expires_at: datetime | None,
) -> management.CreatedKey:
    async with admin_session(settings) as session:
        return await management.create_key(
            session,
            settings,
            workspace_id,
            name=name,
            scopes=scopes,
            mode="test" if is_test else "live",
            expires_at=expires_at,
        )


@app.command("list")
def list_keys(workspace_id: WorkspaceOption, data_dir: DataDirOption = DATA_DIR_DEFAULT) -> None:
    """List a workspace's keys (the last 4 characters only, never a secret)."""
    settings = target_settings(data_dir)
    keys = asyncio.run(_list(settings, workspace_id))
    columns = ["ID", "NAME", "MODE", "SCOPES", "HINT", "CREATED", "EXPIRES", "REVOKED", "LAST USED"]
    rows = [
        [
            key.id,
            key.name,
            key.mode,
            _scopes(key.scopes),
            f"…{key.hint}",
            when(key.created_at),
            when(key.expires_at),
            when(key.revoked_at),
            when(key.last_used_at),
        ]
        for key in keys
    ]
    table(columns, rows, empty=f"Workspace {workspace_id} has no keys.")


async def _list(settings: Settings, workspace_id: str) -> list[ApiKey]:
    async with admin_session(settings) as session:
        await get_workspace(session, workspace_id)
        return await management.list_keys(session, workspace_id)


@app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="Key id (key_…).", show_default=False)],
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Revoke a key for good (every process stops accepting it within 5 seconds)."""
    settings = target_settings(data_dir)
    asyncio.run(_revoke(settings, key_id))
    say(f"Revoked key {key_id}.")


async def _revoke(settings: Settings, key_id: str) -> None:
    async with admin_session(settings) as session:
        await management.revoke_key(session, key_id)


def _scopes(scopes: list[str]) -> str:
    return "all" if set(scopes) >= set(ALL_SCOPES) else ", ".join(sorted(scopes))
