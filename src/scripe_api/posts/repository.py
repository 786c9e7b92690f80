"""SQL for posts, always scoped to a workspace (a foreign id is simply not found).

Posts a generation writes are inserted by the job's finishing statement (see
`generations/runner.py`); the statements here serve the posts endpoints.
"""

from __future__ import annotations

from datetime import datetime

from scripe_api.core.filters import DateRange
from scripe_api.core.pagination import CursorCodec, Page, PageRequest
from scripe_api.db.base import can_exist, timestamp_sql
from scripe_api.db.keyset import fetch_page
from scripe_api.db.pool import Connection, Record

POST_COLUMNS = (
    "id, status, platform, content_type, title, content, created_at, project_id, "
    "scheduled_at, updated_at"
)


def post_document(alias: str) -> str:
    """The post (alias `alias`) as the API's Post object, JSON rendered by Postgres (for the
    webhook event of a post a statement creates; same shape as `PostRead`)."""
    return f"""(SELECT row_to_json(d) FROM (SELECT
    {alias}.id, {alias}.status, {alias}.platform, {alias}.content_type AS "contentType",
    {alias}.title, {alias}.content, {timestamp_sql(f"{alias}.created_at")} AS "createdAt",
    {alias}.project_id AS "projectId", {timestamp_sql(f"{alias}.scheduled_at")} AS "scheduledAt",
    {timestamp_sql(f"{alias}.updated_at")} AS "updatedAt") d)"""


# Its `post.created` event (a source of the finish statement's outbox, see `Outcome.events`).
# The `post.created` event of that post: a source of the finish statement's outbox
# (`Outcome.events`).
GENERATED_POST_EVENT = (
    f"SELECT p.workspace_id, p.project_id, 'post.created' AS type, {post_document('p')} AS data"
    " FROM post p"
)
# A generation's post, written with its job's finish (only when the attempt still holds the
# job). A schedule that passed by the time the post is saved makes a draft, never a post
# scheduled in the past. Parameters: $8 id, $9 project, $10 the schedule asked for, $11 content
# type, $12 title, $13 content, $14 when.
SAVE_GENERATED_POST = """, post AS (
    INSERT INTO posts (id, workspace_id, project_id, job_id, status, platform, content_type,
                       title, content, scheduled_at, created_at)
    SELECT $8, f.workspace_id, $9, f.id,
           CASE WHEN $10::timestamptz > now() THEN 'scheduled' ELSE 'draft' END,
           'LINKEDIN', $11, $12, $13,
           CASE WHEN $10::timestamptz > now() THEN $10::timestamptz END, $14
      FROM finished f
    RETURNING *
)"""

READ_POST = f"SELECT {POST_COLUMNS} FROM posts WHERE id = $1 AND workspace_id = $2"
# The row as the edit sees it, locked until the edit commits.
READ_POST_FOR_UPDATE = f"{READ_POST} FOR UPDATE"

INSERT_POST = f"""
INSERT INTO posts (id, workspace_id, project_id, status, platform, content_type, title,
                   content, scheduled_at, created_at)
VALUES ($1, $2, $3, $4, 'LINKEDIN', $5, $6, $7, $8, $9)
RETURNING {POST_COLUMNS}
"""

UPDATE_POST = f"""
UPDATE posts
   SET content = $3, title = $4, content_type = $5, scheduled_at = $6, status = $7,
       updated_at = $8
 WHERE id = $1 AND workspace_id = $2
RETURNING {POST_COLUMNS}
"""


async def get(
    connection: Connection, workspace_id: str, post_id: str, *, for_update: bool = False
) -> Record | None:
    if not can_exist(post_id):
        return None
    statement = READ_POST_FOR_UPDATE if for_update else READ_POST
    row: Record | None = await connection.fetchrow(statement, post_id, workspace_id)
    return row


async def insert(
    connection: Connection,
    *,
    post_id: str,
    workspace_id: str,
    project_id: str,
    status: str,
    content_type: str,
    title: str | None,
    content: str,
    scheduled_at: datetime | None,
    created_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_POST,
        post_id,
        workspace_id,
        project_id,
        status,
        content_type,
        title,
        content,
        scheduled_at,
        created_at,
    )
    return row


async def update(
    connection: Connection,
    workspace_id: str,
    post_id: str,
    *,
    content: str,
    title: str | None,
    content_type: str,
    scheduled_at: datetime | None,
    status: str,
    updated_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        UPDATE_POST,
        post_id,
        workspace_id,
        content,
        title,
        content_type,
        scheduled_at,
        status,
        updated_at,
    )
    return row


async def list_page(
    connection: Connection,
    workspace_id: str,
    project_id: str,
    *,
    statuses: list[str] | None,
    dates: DateRange,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Record]:
    conditions = ["workspace_id = $1", "project_id = $2"]
    args: list[object] = [workspace_id, project_id]
    if statuses:
        args.append(statuses)
        conditions.append(f"status = ANY(${len(args)}::text[])")
    if dates.start is not None:
        args.append(dates.start)
        conditions.append(f"created_at >= ${len(args)}")
    if dates.end is not None:
        args.append(dates.end)
        conditions.append(f"created_at < ${len(args)}")
    return await fetch_page(
        connection,
        f"SELECT {POST_COLUMNS} FROM posts",
        tuple(conditions),
        tuple(args),
        request,
        codec,
    )
