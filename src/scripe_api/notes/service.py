from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound, PayloadTooLarge
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.models import Note
from scripe_api.notes import repository
from scripe_api.notes.schemas import NOTE_CONTENT_MAX_BYTES, NoteCreate
from scripe_api.projects.service import get_project


async def get_note(session: AsyncSession, principal: Principal, note_id: str) -> Note:
    note = await repository.get(session, principal.workspace_id, note_id)
    if note is None:
        raise NotFound(f"Note '{note_id}' was not found.")
    return note


async def list_notes(
    session: AsyncSession,
    principal: Principal,
    codec: CursorCodec,
    *,
    project_id: str,
    limit: int | None,
    cursor: str | None,
) -> Page[Note]:
    request = codec.page_request(
        limit, cursor, "notes", principal.workspace_id, {"projectId": project_id}
    )
    await get_project(session, principal, project_id)
    return await repository.list_page(session, principal.workspace_id, project_id, request, codec)


async def create_note(session: AsyncSession, principal: Principal, body: NoteCreate) -> Note:
    if len(body.content.encode()) > NOTE_CONTENT_MAX_BYTES:
        raise PayloadTooLarge("content exceeds 100 KB.")
    project = await get_project(session, principal, body.project_id)
    note = Note(
        id=new_id("note"),
        workspace_id=principal.workspace_id,
        project_id=project.id,
        content=body.content,
    )
    repository.add(session, note)
    await session.flush()
    return note
