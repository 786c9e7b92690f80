"""SQL for notes, always scoped to a workspace. Flushes, never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.models import Note


def add(session: AsyncSession, note: Note) -> None:
    session.add(note)


async def get(session: AsyncSession, workspace_id: str, note_id: str) -> Note | None:
    if not can_exist(note_id):
        return None
    note: Note | None = await session.scalar(
        select(Note).where(Note.workspace_id == workspace_id, Note.id == note_id)
    )
    return note


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    project_id: str,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Note]:
    statement = select(Note).where(Note.workspace_id == workspace_id, Note.project_id == project_id)
    return await fetch_page(
        session,
        statement,
        (Note.created_at, Note.id),
        request,
        codec,
        lambda note: Position(note.created_at, note.id),
    )
