"""SQL for posts, always scoped to a workspace. Flushes, never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.filters import DateRange
from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import created_within, fetch_page
from scripe_api.db.models import Post


def add(session: AsyncSession, post: Post) -> None:
    session.add(post)


async def get(session: AsyncSession, workspace_id: str, post_id: str) -> Post | None:
    if not can_exist(post_id):
        return None
    post: Post | None = await session.scalar(
        select(Post).where(Post.workspace_id == workspace_id, Post.id == post_id)
    )
    return post


async def list_page(
    session: AsyncSession,
    workspace_id: str,
    project_id: str,
    *,
    statuses: list[str] | None,
    dates: DateRange,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Post]:
    statement = select(Post).where(Post.workspace_id == workspace_id, Post.project_id == project_id)
    if statuses:
        statement = statement.where(Post.status.in_(statuses))
    statement = created_within(statement, Post.created_at, dates)
    return await fetch_page(
        session,
        statement,
        (Post.created_at, Post.id),
        request,
        codec,
        lambda post: Position(post.created_at, post.id),
    )
