"""Notes: raw material a generation can start from (`source.noteId`)."""

from __future__ import annotations

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import NotFound, PayloadTooLarge
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.pool import Database, Record
from scripe_api.db.transaction import UnitOfWork
from scripe_api.notes import repository
from scripe_api.notes.schemas import NOTE_CONTENT_MAX_BYTES, NoteCreate, NoteRead
from scripe_api.projects.service import require_project
from scripe_api.webhooks import outbox


async def read_note(database: Database, principal: Principal, note_id: str) -> Record:
    async with database.connection(principal.workspace_id) as connection:
        note = await repository.get(connection, principal.workspace_id, note_id)
    if note is None:
        raise NotFound(f"Note '{note_id}' was not found.")
    return note


async def list_notes(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    *,
    project_id: str,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    request = codec.page_request(
        limit, cursor, "notes", principal.workspace_id, {"projectId": project_id}
    )
    async with database.connection(principal.workspace_id) as connection:
        await require_project(connection, principal, project_id)
        return await repository.list_page(
            connection, principal.workspace_id, project_id, request, codec
        )


async def create_note(uow: UnitOfWork, principal: Principal, body: NoteCreate) -> Record:
    if len(body.content.encode()) > NOTE_CONTENT_MAX_BYTES:
        raise PayloadTooLarge("content exceeds 100 KB.")
    connection = await uow.connection()
    await require_project(connection, principal, body.project_id)
    note = await repository.insert(
        connection,
        note_id=new_id("note"),
        workspace_id=principal.workspace_id,
        project_id=body.project_id,
        content=body.content,
        created_at=utc_now(),
    )
    await outbox.record(
        connection,
        principal.workspace_id,
        body.project_id,
        ("note.created",),
        NoteRead.from_row(note).model_dump_json(by_alias=True),
    )
    return note
