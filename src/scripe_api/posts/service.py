"""Posts: created by hand or by a generation job, edited and (re)scheduled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import NotFound, PayloadTooLarge, Unprocessable
from scripe_api.core.filters import parse_csv, parse_date_range
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.models.post import POST_STATUSES
from scripe_api.db.pool import Connection, Database, Record
from scripe_api.db.transaction import UnitOfWork
from scripe_api.posts import repository
from scripe_api.posts.schemas import (
    POST_CONTENT_MAX_CHARS,
    POST_TITLE_MAX_CHARS,
    PostCreate,
    PostRead,
    PostUpdate,
)
from scripe_api.projects.service import require_project
from scripe_api.webhooks import outbox

DB_NOW = "SELECT now()"


def _check_caps(content: str | None, title: str | None) -> None:
    if content is not None and len(content) > POST_CONTENT_MAX_CHARS:
        raise PayloadTooLarge(f"content exceeds {POST_CONTENT_MAX_CHARS} characters.")
    if title is not None and len(title) > POST_TITLE_MAX_CHARS:
        raise PayloadTooLarge(f"title exceeds {POST_TITLE_MAX_CHARS} characters.")


async def _report(
    connection: Connection, principal: Principal, post: Record, events: Sequence[str]
) -> None:
    """The post's webhook events, written in the change's transaction."""
    await outbox.record(
        connection,
        principal.workspace_id,
        post["project_id"],
        events,
        PostRead.from_row(post).model_dump_json(by_alias=True),
    )


async def require_future(connection: Connection, scheduled_for: datetime) -> None:
    """422 unless `scheduled_for` is after now on the database clock."""
    if scheduled_for <= await connection.fetchval(DB_NOW):
        raise Unprocessable(
            "scheduledFor must be in the future.", details={"field": "scheduledFor"}
        )


async def read_post(database: Database, principal: Principal, post_id: str) -> Record:
    async with database.connection(principal.workspace_id) as connection:
        post = await repository.get(connection, principal.workspace_id, post_id)
    if post is None:
        raise NotFound(f"Post '{post_id}' was not found.")
    return post


async def list_posts(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    *,
    project_id: str,
    status_filter: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    statuses = parse_csv(status_filter, POST_STATUSES, "status")
    dates = parse_date_range(date_from, date_to)
    request = codec.page_request(
        limit,
        cursor,
        "posts",
        principal.workspace_id,
        {"projectId": project_id, "status": statuses, **dates.as_filter()},
    )
    async with database.connection(principal.workspace_id) as connection:
        await require_project(connection, principal, project_id)
        return await repository.list_page(
            connection,
            principal.workspace_id,
            project_id,
            statuses=statuses,
            dates=dates,
            request=request,
            codec=codec,
        )


async def create_post(uow: UnitOfWork, principal: Principal, body: PostCreate) -> Record:
    _check_caps(body.content, body.title)
    connection = await uow.connection()
    await require_project(connection, principal, body.project_id)
    if body.scheduled_for is not None:
        await require_future(connection, body.scheduled_for)
    post = await repository.insert(
        connection,
        post_id=new_id("post"),
        workspace_id=principal.workspace_id,
        project_id=body.project_id,
        status="scheduled" if body.scheduled_for else "draft",
        content_type=body.content_type or "UNKNOWN",
        title=body.title,
        content=body.content or "",
        scheduled_at=body.scheduled_for,
        created_at=utc_now(),
    )
    await _report(connection, principal, post, ("post.created",))
    return post


async def update_post(
    uow: UnitOfWork, principal: Principal, post_id: str, body: PostUpdate
) -> Record:
    _check_caps(body.content, body.title)
    connection = await uow.connection()
    post = await repository.get(connection, principal.workspace_id, post_id, for_update=True)
    if post is None:
        raise NotFound(f"Post '{post_id}' was not found.")
    fields = body.model_fields_set
    content, title = post["content"], post["title"]
    content_type, status, scheduled_at = post["content_type"], post["status"], post["scheduled_at"]
    if "content" in fields and body.content is not None:
        content = body.content
    if "title" in fields:
        title = body.title
    if "content_type" in fields and body.content_type is not None:
        content_type = body.content_type
    if "scheduled_for" in fields:
        if body.scheduled_for is None:
            scheduled_at = None
            if status == "scheduled":
                status = "draft"
        else:
            await require_future(connection, body.scheduled_for)
            scheduled_at, status = body.scheduled_for, "scheduled"
    changed = (content, title, content_type, scheduled_at, status) != (
        post["content"],
        post["title"],
        post["content_type"],
        post["scheduled_at"],
        post["status"],
    )
    if not changed:
        # Nothing to write: `updatedAt` is the last real change.
        return post
    updated = await repository.update(
        connection,
        principal.workspace_id,
        post_id,
        content=content,
        title=title,
        content_type=content_type,
        scheduled_at=scheduled_at,
        status=status,
        updated_at=utc_now(),
    )
    # Every change is `post.updated`; a schedule set, moved or removed is also said so.
    events = ["post.updated"]
    if scheduled_at != post["scheduled_at"]:
        events.append("post.scheduled" if scheduled_at is not None else "post.unscheduled")
    await _report(connection, principal, updated, events)
    return updated
