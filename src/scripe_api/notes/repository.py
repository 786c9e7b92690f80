"""SQL for notes, always scoped to a workspace (a foreign id is simply not found)."""

from __future__ import annotations

from datetime import datetime

from scripe_api.core.pagination import CursorCodec, Page, PageRequest
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.pool import Connection, Record

NOTE_COLUMNS = "id, project_id, content, created_at, updated_at"
READ_NOTE = f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = $1 AND workspace_id = $2"
INSERT_NOTE = f"""
INSERT INTO notes (id, workspace_id, project_id, content, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5)
RETURNING {NOTE_COLUMNS}
"""


async def get(connection: Connection, workspace_id: str, note_id: str) -> Record | None:
    if not can_exist(note_id):
        return None
    row: Record | None = await connection.fetchrow(READ_NOTE, note_id, workspace_id)
    return row


async def insert(
    connection: Connection,
    *,
    note_id: str,
    workspace_id: str,
    project_id: str,
    content: str,
    created_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_NOTE, note_id, workspace_id, project_id, content, created_at
    )
    return row


async def list_page(
    connection: Connection,
    workspace_id: str,
    project_id: str,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Record]:
    return await fetch_page(
        connection,
        f"SELECT {NOTE_COLUMNS} FROM notes",
        ("workspace_id = $1", "project_id = $2"),
        (workspace_id, project_id),
        request,
        codec,
    )
