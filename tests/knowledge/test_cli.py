"""`scripe-api knowledge add`: an operator's document, chunked like the API's, written at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import KnowledgeDocument
from tests.cli.conftest import Cli, id_in
from tests.factories import Factory
from tests.knowledge.calls import chunks_of

ADD = ("knowledge", "add")


async def test_add_text_to_a_project(
    cli: Cli, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    workspace = await factory.workspace()
    project = await factory.project(workspace.id)
    added = await cli(
        "knowledge", "add", "--project", project.id, "--name", "FAQ", "--text", "Refunds: 30 days."
    )
    document_id = id_in(added.assert_ok().stdout, "kb")
    async with sessionmaker() as session:
        document = await session.get(KnowledgeDocument, document_id)
    assert document is not None
    assert (document.workspace_id, document.project_id, document.name) == (
        workspace.id,
        project.id,
        "FAQ",
    )
    assert [c.content for c in await chunks_of(sessionmaker, document_id)] == ["Refunds: 30 days."]


async def test_add_a_file_to_a_workspace(
    cli: Cli, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    workspace = await factory.workspace()
    source = tmp_path / "handbook.txt"
    source.write_text("First paragraph.\n\nSecond paragraph.\n")
    added = await cli(
        "knowledge", "add", "--workspace", workspace.id, "--name", "Handbook", "--file", str(source)
    )
    document_id = id_in(added.assert_ok().stdout, "kb")
    async with sessionmaker() as session:
        document = await session.get(KnowledgeDocument, document_id)
    assert document is not None
    assert (document.workspace_id, document.project_id) == (workspace.id, None)
    chunks = await chunks_of(sessionmaker, document_id)
    assert [c.content for c in chunks] == ["First paragraph.\n\nSecond paragraph."]


async def test_bad_invocations_are_one_line(cli: Cli, factory: Factory) -> None:
    workspace = await factory.workspace()
    await cli.assert_each_fails(
        [
            (["knowledge", "add", "--name", "N", "--text", "T"], "--project"),
            (
                ["knowledge", "add", "--workspace", workspace.id, "--name", "N"],
                "--file",
            ),
            ([*ADD, "--project", "proj_nope", "--name", "N", "--text", "T"], "proj_nope"),
            ([*ADD, "--workspace", "org_nope", "--name", "N", "--text", "T"], "org_nope"),
        ]
    )
