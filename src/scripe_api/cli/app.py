"""The `scripe-api` command: the root group and the one place errors are rendered."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import typer

from scripe_api.cli import (
    client_commands,
    key_commands,
    knowledge_commands,
    project_commands,
    runtime,
    spend_commands,
    webhook_commands,
    workspace_commands,
)
from scripe_api.cli.errors import render

app = typer.Typer(
    name="scripe-api",
    help="Scripe API: run the service (dev, serve, worker, migrate, openapi) and manage "
    "workspaces, projects, API keys, knowledge and webhooks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runtime.register(app)
app.add_typer(workspace_commands.app, name="workspaces")
app.add_typer(project_commands.app, name="projects")
app.add_typer(key_commands.app, name="keys")
app.add_typer(spend_commands.app, name="spend")
app.add_typer(knowledge_commands.app, name="knowledge")
app.add_typer(webhook_commands.app, name="webhooks")
app.add_typer(client_commands.app, name="client")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run a command; any failure is one line on stderr and exit code 1, never a traceback."""
    try:
        command = typer.main.get_command(app)
        result = command.main(
            args=list(argv) if argv is not None else None,
            prog_name="scripe-api",
            standalone_mode=False,
        )
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except typer.TyperException as error:
        # A group called without a command shows its help (Typer renders it when raising).
        if type(error).__name__ != "NoArgsIsHelpError":
            sys.stderr.write(render(error) + "\n")
            sys.exit(1)
        if message := error.format_message():
            sys.stdout.write(message + "\n")
        sys.exit(0)
    except Exception as error:
        sys.stderr.write(render(error) + "\n")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
