from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from scripe_api.api.access import Access
from scripe_api.api.dependencies import CursorQuery, LimitQuery, ServicesDep, UnitOfWorkDep
from scripe_api.api.openapi import POST_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope, ListEnvelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound, Unprocessable
from scripe_api.posts import service
from scripe_api.posts.schemas import PostCreate, PostRead, PostUpdate

router = APIRouter(route_class=GuardedRoute, tags=["posts"])

PostsReader = Annotated[Principal, Depends(Access(("posts:read", "posts:write"), "read"))]
PostsWriter = Annotated[Principal, Depends(Access(("posts:write",), "write"))]
PostId = Annotated[str, Path(alias="postId")]


@router.get(
    "/posts",
    response_model=ListEnvelope[PostRead],
    summary="List a project's posts",
    response_description="A page of posts, newest first.",
    responses=error_responses(NotFound),
)
async def list_posts(
    principal: PostsReader,
    services: ServicesDep,
    project_id: Annotated[str, Query(alias="projectId", description="Required.")],
    status: Annotated[
        str | None, Query(description="Comma-separated PostStatus values; empty: no filter.")
    ] = None,
    date_from: Annotated[str | None, Query(alias="dateFrom")] = None,
    date_to: Annotated[str | None, Query(alias="dateTo")] = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> ListEnvelope[PostRead]:
    """A project's posts, newest first. `dateFrom`/`dateTo` filter `createdAt` (YYYY-MM-DD or
    ISO 8601 with offset, inclusive; a date `dateTo` means the end of that UTC day)."""
    page = await service.list_posts(
        services.database,
        principal,
        services.cursors,
        project_id=project_id,
        status_filter=status,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return ListEnvelope[PostRead].of(page, PostRead.from_row)


@router.get(
    "/posts/{postId}",
    response_model=Envelope[PostRead],
    summary="Get a post",
    response_description="The post.",
    responses={200: {"links": POST_LINKS}, **error_responses(NotFound)},
)
async def get_post(
    post_id: PostId, principal: PostsReader, services: ServicesDep
) -> Envelope[PostRead]:
    """One post."""
    post = await service.read_post(services.database, principal, post_id)
    return Envelope[PostRead](data=PostRead.from_row(post))


@router.post(
    "/posts",
    response_model=Envelope[PostRead],
    summary="Create a post",
    response_description="The new post (`scheduled` or `draft`).",
    responses={200: {"links": POST_LINKS}, **error_responses(NotFound, Unprocessable)},
)
async def create_post(
    body: PostCreate, principal: PostsWriter, uow: UnitOfWorkDep
) -> Envelope[PostRead]:
    """Create a post by hand: `scheduled` when `scheduledFor` is given, else `draft`."""
    post = await service.create_post(uow, principal, body)
    return Envelope[PostRead](data=PostRead.from_row(post))


@router.patch(
    "/posts/{postId}",
    response_model=Envelope[PostRead],
    summary="Update a post",
    response_description="The post after the change.",
    responses={200: {"links": POST_LINKS}, **error_responses(NotFound, Unprocessable)},
)
async def update_post(
    post_id: PostId, body: PostUpdate, principal: PostsWriter, uow: UnitOfWorkDep
) -> Envelope[PostRead]:
    """Edit a post. `scheduledFor`: a future time (re)schedules, `null` unschedules to
    `draft`, absent leaves it."""
    post = await service.update_post(uow, principal, post_id, body)
    return Envelope[PostRead](data=PostRead.from_row(post))
