"""`scripe-api knowledge add`: put a text document in a project's or a workspace's knowledge base
at once (no job), chunked exactly as the API's KB_INGEST_TEXT jobs chunk it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.errors import CliError
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption
from scripe_api.cli.output import say
from scripe_api.knowledge.schemas import KNOWLEDGE_TEXT_MAX_BYTES
from scripe_api.knowledge.service import add_text_for_operator
from scripe_api.settings import Settings

app = typer.Typer(help="The knowledge base posts are written with.", no_args_is_help=True)

MAX_DOCUMENT_NAME = 500


@app.command("add")
def add_knowledge(
    name: Annotated[str, typer.Option(help="Document name (1–500).", show_default=False)],
    project: Annotated[
        str | None, typer.Option(help="Project id (proj_…): a project's document.")
    ] = None,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id (org_…): a workspace-wide document.")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="Read the text from this UTF-8 file.")] = None,
    text: Annotated[str | None, typer.Option(help="The text itself.")] = None,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Add a text document and print its id (kb_…)."""
    if (project is None) == (workspace is None):
        raise CliError("pass exactly one of --project and --workspace")
    content = _content(file, text)
    title = name.strip()
    if not title or len(title) > MAX_DOCUMENT_NAME:
        raise CliError(f"--name must be 1 to {MAX_DOCUMENT_NAME} characters")
    settings = target_settings(data_dir)
    document_id = asyncio.run(_add(settings, workspace, project, title, content))
    say(document_id)


def _content(file: Path | None, text: str | None) -> str:
    if (file is None) == (text is None):
        raise CliError("pass exactly one of --file and --text")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"cannot read {file}: {error}") from None
    assert text is not None
    if not text.strip():
        raise CliError("the text is empty")
    if "\x00" in text or len(text.encode(errors="replace")) > KNOWLEDGE_TEXT_MAX_BYTES:
        raise CliError("the text must be at most 1 MB of UTF-8 without NUL characters")
    return text


async def _add(
    settings: Settings, workspace_id: str | None, project_id: str | None, name: str, text: str
) -> str:
    async with admin_session(settings) as session:
        document = await add_text_for_operator(
            session, workspace_id=workspace_id, project_id=project_id, name=name, text=text
        )
        return document.id
