from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from scripe_api.api.access import Access
from scripe_api.api.dependencies import CursorQuery, LimitQuery, ServicesDep
from scripe_api.api.openapi import PROJECT_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope, ListEnvelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound
from scripe_api.projects import service
from scripe_api.projects.schemas import ProjectRead

router = APIRouter(route_class=GuardedRoute, tags=["projects"])

ProjectsReader = Annotated[Principal, Depends(Access(("projects:read",), "read"))]


@router.get(
    "/projects",
    response_model=ListEnvelope[ProjectRead],
    summary="List projects",
    response_description="A page of projects, newest first.",
)
async def list_projects(
    principal: ProjectsReader,
    services: ServicesDep,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> ListEnvelope[ProjectRead]:
    """The workspace's projects, newest first. Follow `pagination.next_cursor` until
    `has_more` is false."""
    page = await service.list_projects(
        services.database, principal, services.cursors, limit, cursor
    )
    return ListEnvelope[ProjectRead].of(page, ProjectRead.from_row)


@router.get(
    "/projects/{projectId}",
    response_model=Envelope[ProjectRead],
    summary="Get a project",
    response_description="The project.",
    responses={200: {"links": PROJECT_LINKS}, **error_responses(NotFound)},
)
async def get_project(
    project_id: Annotated[str, Path(alias="projectId")],
    principal: ProjectsReader,
    services: ServicesDep,
) -> Envelope[ProjectRead]:
    """One project of the workspace. An id of another workspace is a 404, like an unknown one."""
    project = await service.read_project(services.database, principal, project_id)
    return Envelope[ProjectRead](data=ProjectRead.from_row(project))
