"""Options shared by several commands, and checks Typer cannot express."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scripe_api.cli.devdata import DEFAULT_DATA_DIR
from scripe_api.cli.errors import CliError

DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="SCRIPE_DATA_DIR",
        help="Data folder of the running `scripe-api dev` to use when SCRIPE_DATABASE_URL is "
        "not set.",
    ),
]
DATA_DIR_DEFAULT = DEFAULT_DATA_DIR

# Column widths of the names in the database.
MAX_NAME_LENGTH = 200


def checked_name(value: str, option: str = "--name") -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise CliError(f"{option} must be 1 to {MAX_NAME_LENGTH} characters")
    return name
