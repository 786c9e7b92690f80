"""SQL for notes, always scoped to a workspace (a foreign id is simply not found).

The list pages on `(created_at DESC, id DESC)` like every list; its date filter is on the
note's calendar moment (`NOTE_CALENDAR_AT`: the slot's date, else the creation), spelled as
the index on it is, so the planner can use that index for a narrow range.
"""

from __future__ import annotations

from datetime import datetime

from scripe_api.core.filters import DateRange
from scripe_api.core.pagination import CursorCodec, Page, PageRequest
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.models.note import NOTE_CALENDAR_AT
from scripe_api.db.pool import Connection, Record

NOTE_COLUMNS = (
    "id, project_id, content, created_at, updated_at, slot_id, slot_date, slot_content_type"
)
READ_NOTE = f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = $1 AND workspace_id = $2"
INSERT_NOTE = f"""
INSERT INTO notes (id, workspace_id, project_id, content, created_at, updated_at, slot_id,
                   slot_date, slot_content_type)
VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)
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
    slot_id: str | None,
    slot_date: datetime | None,
    slot_content_type: str | None,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_NOTE,
        note_id,
        workspace_id,
        project_id,
        content,
        created_at,
        slot_id,
        slot_date,
        slot_content_type,
    )
    return row


async def list_page(
    connection: Connection,
    workspace_id: str,
    project_id: str,
    *,
    dates: DateRange,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Record]:
    conditions = ["workspace_id = $1", "project_id = $2"]
    args: list[object] = [workspace_id, project_id]
    if dates.start is not None:
        args.append(dates.start)
        conditions.append(f"{NOTE_CALENDAR_AT} >= ${len(args)}")
    if dates.end is not None:
        args.append(dates.end)
        conditions.append(f"{NOTE_CALENDAR_AT} < ${len(args)}")
    return await fetch_page(
        connection,
        f"SELECT {NOTE_COLUMNS} FROM notes",
        tuple(conditions),
        tuple(args),
        request,
        codec,
    )
