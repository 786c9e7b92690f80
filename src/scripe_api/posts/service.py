"""Posts: created by hand or by a generation job, edited and (re)scheduled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound, PayloadTooLarge, Unprocessable
from scripe_api.core.filters import parse_csv, parse_date_range
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.clock import db_now
from scripe_api.db.models import Post
from scripe_api.db.models.post import POST_STATUSES
from scripe_api.posts import repository
from scripe_api.posts.schemas import (
    POST_CONTENT_MAX_CHARS,
    POST_TITLE_MAX_CHARS,
    PostCreate,
    PostUpdate,
)
from scripe_api.projects.service import get_project


def _check_caps(content: str | None, title: str | None) -> None:
    if content is not None and len(content) > POST_CONTENT_MAX_CHARS:
        raise PayloadTooLarge(f"content exceeds {POST_CONTENT_MAX_CHARS} characters.")
    if title is not None and len(title) > POST_TITLE_MAX_CHARS:
        raise PayloadTooLarge(f"title exceeds {POST_TITLE_MAX_CHARS} characters.")


async def require_future(session: AsyncSession, scheduled_for: datetime) -> None:
    if scheduled_for <= await db_now(session):
        raise Unprocessable(
            "scheduledFor must be in the future.", details={"field": "scheduledFor"}
        )


async def get_post(session: AsyncSession, principal: Principal, post_id: str) -> Post:
    post = await repository.get(session, principal.workspace_id, post_id)
    if post is None:
        raise NotFound(f"Post '{post_id}' was not found.")
    return post


async def list_posts(
    session: AsyncSession,
    principal: Principal,
    codec: CursorCodec,
    *,
    project_id: str,
    status_filter: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Post]:
    statuses = parse_csv(status_filter, POST_STATUSES, "status")
    dates = parse_date_range(date_from, date_to)
    request = codec.page_request(
        limit,
        cursor,
        "posts",
        principal.workspace_id,
        {"projectId": project_id, "status": statuses, **dates.as_filter()},
    )
    await get_project(session, principal, project_id)
    return await repository.list_page(
        session,
        principal.workspace_id,
        project_id,
        statuses=statuses,
        dates=dates,
        request=request,
        codec=codec,
    )


async def create_post(session: AsyncSession, principal: Principal, body: PostCreate) -> Post:
    _check_caps(body.content, body.title)
    project = await get_project(session, principal, body.project_id)
    if body.scheduled_for is not None:
        await require_future(session, body.scheduled_for)
    post = Post(
        id=new_id("post"),
        workspace_id=principal.workspace_id,
        project_id=project.id,
        status="scheduled" if body.scheduled_for else "draft",
        content_type=body.content_type or "UNKNOWN",
        title=body.title,
        content=body.content or "",
        scheduled_at=body.scheduled_for,
    )
    repository.add(session, post)
    await session.flush()
    return post


async def update_post(
    session: AsyncSession, principal: Principal, post_id: str, body: PostUpdate
) -> Post:
    _check_caps(body.content, body.title)
    post = await get_post(session, principal, post_id)
    fields = body.model_fields_set
    if "content" in fields and body.content is not None:
        post.content = body.content
    if "title" in fields:
        post.title = body.title
    if "content_type" in fields and body.content_type is not None:
        post.content_type = body.content_type
    if "scheduled_for" in fields:
        if body.scheduled_for is None:
            post.scheduled_at = None
            if post.status == "scheduled":
                post.status = "draft"
        else:
            await require_future(session, body.scheduled_for)
            post.scheduled_at = body.scheduled_for
            post.status = "scheduled"
    await session.flush()
    return post
