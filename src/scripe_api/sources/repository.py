"""SQL for sources, scoped to a workspace (a foreign id is simply not found). The full text is
read only by the worker (through the submit function); the API reads its preview."""

from __future__ import annotations

from datetime import datetime

from scripe_api.db.base import can_exist, timestamp_sql
from scripe_api.db.pool import Connection, Record

SOURCE_COLUMNS = """id, project_id, type, status, name, file_type, duration_seconds,
    left(text, 2000) AS text_preview, length(text) > 2000 AS text_preview_truncated,
    length(text) > 0 AS has_full_text, created_at, updated_at"""
READ_SOURCE = f"SELECT {SOURCE_COLUMNS} FROM sources WHERE id = $1 AND workspace_id = $2"
INSERT_TEXT_SOURCE = f"""
INSERT INTO sources (id, workspace_id, project_id, type, status, name, text, created_at,
                     updated_at)
VALUES ($1, $2, $3, 'text', 'Done', $4, $5, $6, $6)
RETURNING {SOURCE_COLUMNS}
"""


def source_document(alias: str) -> str:
    """The source (alias `alias`) as the API's Source object, JSON rendered by Postgres (for
    the webhook event of a source a job creates; same shape as `SourceRead`)."""
    a = alias
    return f"""(SELECT row_to_json(d) FROM (SELECT
    {a}.id, {a}.project_id AS "projectId", {a}.type, {a}.status, {a}.name,
    {a}.file_type AS "fileType", {a}.duration_seconds AS "durationSeconds",
    left({a}.text, 2000) AS "textPreview", length({a}.text) > 2000 AS "textPreviewTruncated",
    length({a}.text) > 0 AS "hasFullText", {timestamp_sql(f"{a}.created_at")} AS "createdAt",
    {timestamp_sql(f"{a}.updated_at")} AS "updatedAt") d)"""


# Its `source.created` event: a source of the finish statement's outbox (`Outcome.events`).
CREATED_SOURCE_EVENT = (
    f"SELECT s.workspace_id, s.project_id, 'source.created' AS type, {source_document('s')} "
    "AS data FROM saved_source s"
)
# A SOURCE_INGEST_FILE job's source, written with its finish (only when the attempt still holds
# the job; one source per job). Parameters: $8 id, $9 name, $10 file type, $11 duration
# (seconds), $12 text, $13 when.
SAVE_FILE_SOURCE = """, saved_source AS (
    INSERT INTO sources (id, workspace_id, project_id, type, status, name, file_type,
                         duration_seconds, text, job_id, created_at, updated_at)
    SELECT $8, f.workspace_id, f.project_id, 'file', 'Done', $9, $10, $11, $12, f.id, $13, $13
      FROM finished f
    RETURNING *
)"""
SOURCE_RESULT = "coalesce($3::jsonb, '{}'::jsonb) || jsonb_build_object('sourceId', $8::text)"


async def get(connection: Connection, workspace_id: str, source_id: str) -> Record | None:
    if not can_exist(source_id):
        return None
    row: Record | None = await connection.fetchrow(READ_SOURCE, source_id, workspace_id)
    return row


async def insert_text(
    connection: Connection,
    *,
    source_id: str,
    workspace_id: str,
    project_id: str,
    name: str | None,
    text: str,
    created_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_TEXT_SOURCE, source_id, workspace_id, project_id, name, text, created_at
    )
    return row
