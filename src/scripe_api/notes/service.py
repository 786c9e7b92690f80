"""Notes: raw material a generation can start from (`source.noteId`), optionally placed on the
calendar by a slot (INGEST.md §4).

Folders are not managed over the API: no note is in a folder (`folderId` is always null), so a
create naming a folder is refused (unknown folder) and a list filtered on one is empty.
"""

from __future__ import annotations

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import NotFound, PayloadTooLarge, Unprocessable
from scripe_api.core.filters import parse_date_range
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
    folder_id: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    dates = parse_date_range(date_from, date_to)
    # An empty `folderId=` is no filter, like every other empty query parameter.
    folder = folder_id or None
    filters = {"projectId": project_id, "folderId": folder, **dates.as_filter()}
    # Only the filters in use are hashed, so a cursor issued before a filter existed still
    # continues its list.
    request = codec.page_request(
        limit,
        cursor,
        "notes",
        principal.workspace_id,
        {name: value for name, value in filters.items() if value is not None},
    )
    async with database.connection(principal.workspace_id) as connection:
        await require_project(connection, principal, project_id)
        if folder is not None:
            return Page(items=[], next_cursor=None)  # no note is in a folder
        return await repository.list_page(
            connection,
            principal.workspace_id,
            project_id,
            dates=dates,
            request=request,
            codec=codec,
        )


async def create_note(uow: UnitOfWork, principal: Principal, body: NoteCreate) -> Record:
    if len(body.content.encode()) > NOTE_CONTENT_MAX_BYTES:
        raise PayloadTooLarge("content exceeds 100 KB.")
    connection = await uow.connection()
    await require_project(connection, principal, body.project_id)
    if body.folder_id is not None:
        raise Unprocessable(
            f"Folder '{body.folder_id}' was not found: folders are not managed over the API "
            "(send folderId null or leave it out).",
            details={"field": "folderId"},
        )
    created_at = utc_now()
    # Either field puts the note on the calendar; a slot without a date is dated at creation.
    has_slot = body.date is not None or body.content_type is not None
    note = await repository.insert(
        connection,
        note_id=new_id("note"),
        workspace_id=principal.workspace_id,
        project_id=body.project_id,
        content=body.content,
        created_at=created_at,
        slot_id=new_id("slot") if has_slot else None,
        slot_date=(body.date or created_at) if has_slot else None,
        slot_content_type=body.content_type,
    )
    await outbox.record(
        connection,
        principal.workspace_id,
        body.project_id,
        ("note.created",),
        NoteRead.from_row(note).model_dump_json(by_alias=True),
    )
    return note
