from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from scripe_api.api import idempotency
from scripe_api.api.access import Access
from scripe_api.api.dependencies import IdempotencyKeyDep, ServicesDep, UnitOfWorkDep
from scripe_api.api.jobs import submit_headers_openapi, submitted_response
from scripe_api.api.openapi import JOB_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.rendering import respond
from scripe_api.api.schemas import Envelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import InvalidRequest, NotFound
from scripe_api.jobs.schemas import JobRead
from scripe_api.sources import service
from scripe_api.sources.schemas import SourceCreate, SourceRead
from scripe_api.uploads.errors import UploadConsumed, UploadNotCompleted
from scripe_api.uploads.service import prepare_upload

router = APIRouter(route_class=GuardedRoute, tags=["sources"])

SourcesReader = Annotated[Principal, Depends(Access(("sources:read", "sources:write"), "read"))]
SourcesWriter = Annotated[Principal, Depends(Access(("sources:write",), "write"))]


@router.post(
    "/sources",
    response_model=Envelope[SourceRead],
    summary="Create a source",
    response_description="The text source, stored (`status: Done`).",
    responses={
        202: {
            "model": Envelope[JobRead],
            "description": "A file source: the SOURCE_INGEST_FILE job; when DONE, "
            "`result.sourceId` names the source.",
            "links": JOB_LINKS,
        },
        **error_responses(InvalidRequest, NotFound, UploadConsumed, UploadNotCompleted),
    },
    openapi_extra=submit_headers_openapi(),
)
async def create_source(
    request: Request,
    body: SourceCreate,
    principal: SourcesWriter,
    services: ServicesDep,
    uow: UnitOfWorkDep,
    key: IdempotencyKeyDep,
) -> Response:
    """Raw material for generations (`source: {"sourceId"}`). `text` (or its alias
    `content`, up to 1 MB) is stored at once: `200` with the Source. `type: "file"` with an
    `uploadId` (PDF, DOCX, text, Markdown, HTML, audio or video) answers `202` with a
    SOURCE_INGEST_FILE Job that extracts (or transcribes) its text."""
    if body.type == "file":
        reservation = await prepare_upload(
            services.database, services.storage, services.settings, principal, body.upload_id
        )
        estimate_ms = await services.estimates.estimate_ms("SOURCE_INGEST_FILE")
        return await submitted_response(
            request,
            services,
            principal,
            key,
            lambda: service.file_request(body, estimate_ms, reservation),
        )
    route = request.scope["route"]

    async def create() -> Envelope[SourceRead]:
        source = await service.create_text_source(uow, principal, body)
        return Envelope[SourceRead](data=SourceRead.from_row(source))

    if key is not None:
        return await idempotency.run_once(
            request,
            services.database,
            services.pipeline.idempotency,
            key,
            uow,
            create,
            route=route,
        )
    result = await create()
    await uow.commit(result)
    return await respond(route, result)


@router.get(
    "/sources/{sourceId}",
    response_model=Envelope[SourceRead],
    summary="Get a source",
    response_description="The source (its text's first 2 000 characters).",
    responses=error_responses(NotFound),
)
async def get_source(
    source_id: Annotated[str, Path(alias="sourceId")],
    principal: SourcesReader,
    services: ServicesDep,
) -> Envelope[SourceRead]:
    """One source. The full text is kept for generations and never returned."""
    source = await service.read_source(services.database, principal, source_id)
    return Envelope[SourceRead](data=SourceRead.from_row(source))
