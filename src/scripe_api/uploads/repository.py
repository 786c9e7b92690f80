"""SQL for uploads. Reads from the API are scoped to the workspace; the PUT of the disk backend
finds its upload by id alone (its signed URL is the authority), and completes it with a
compare-and-set, so one PUT only ever completes an upload."""

from __future__ import annotations

from datetime import datetime

from scripe_api.db.base import can_exist
from scripe_api.db.pool import Connection, Record

UPLOAD_COLUMNS = (
    "id, workspace_id, content_type, max_size_bytes, size_bytes, status, storage_key, "
    "expires_at, completed_at, consumed_at, created_at"
)
INSERT_UPLOAD = f"""
INSERT INTO uploads (id, workspace_id, content_type, max_size_bytes, status, storage_key,
                     expires_at, created_at)
VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)
RETURNING {UPLOAD_COLUMNS}
"""
READ_UPLOAD = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
READ_WORKSPACE_UPLOAD = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND workspace_id = $2"
COMPLETE_UPLOAD = """
UPDATE uploads SET status = 'completed', size_bytes = $2, completed_at = now()
 WHERE id = $1 AND status = 'pending'
RETURNING id
"""
# Bytes nobody will read: never referenced within the retention, or consumed (extracted) —
# $1 retention seconds, $2 at most this many.
PURGEABLE = """
SELECT id, storage_key FROM uploads
 WHERE purged_at IS NULL
   AND ((status <> 'consumed' AND created_at < now() - make_interval(secs => $1))
        OR (status = 'consumed' AND consumed_at < now() - make_interval(secs => 60)))
 ORDER BY created_at
 LIMIT $2
"""
MARK_PURGED = "UPDATE uploads SET purged_at = now() WHERE id = ANY($1::text[])"


async def insert(
    connection: Connection,
    *,
    upload_id: str,
    workspace_id: str,
    content_type: str,
    max_size_bytes: int,
    storage_key: str,
    expires_at: datetime,
    created_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_UPLOAD,
        upload_id,
        workspace_id,
        content_type,
        max_size_bytes,
        storage_key,
        expires_at,
        created_at,
    )
    return row


async def get(connection: Connection, upload_id: str) -> Record | None:
    if not can_exist(upload_id):
        return None
    row: Record | None = await connection.fetchrow(READ_UPLOAD, upload_id)
    return row


async def get_in_workspace(
    connection: Connection, workspace_id: str, upload_id: str
) -> Record | None:
    if not can_exist(upload_id):
        return None
    row: Record | None = await connection.fetchrow(READ_WORKSPACE_UPLOAD, upload_id, workspace_id)
    return row


async def complete(connection: Connection, upload_id: str, size_bytes: int) -> bool:
    return await connection.fetchval(COMPLETE_UPLOAD, upload_id, size_bytes) is not None


async def purgeable(
    connection: Connection, retention_seconds: float, limit: int = 1000
) -> list[Record]:
    rows: list[Record] = await connection.fetch(PURGEABLE, retention_seconds, limit)
    return rows


async def mark_purged(connection: Connection, upload_ids: list[str]) -> None:
    await connection.execute(MARK_PURGED, upload_ids)
