from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from scripe_api.api.access import Access
from scripe_api.api.dependencies import IdempotencyKeyDep, ServicesDep
from scripe_api.api.jobs import submit_headers_openapi, submitted_response
from scripe_api.api.openapi import JOB_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import InvalidRequest, NotFound, Unprocessable
from scripe_api.jobs.schemas import JobRead
from scripe_api.knowledge.schemas import KnowledgeCreate
from scripe_api.knowledge.service import job_type_of, knowledge_request
from scripe_api.uploads.errors import UploadConsumed
from scripe_api.uploads.service import prepare_upload

router = APIRouter(route_class=GuardedRoute, tags=["knowledge"])

KnowledgeWriter = Annotated[Principal, Depends(Access(("knowledge:write",), "ai"))]


@router.post(
    "/knowledge",
    status_code=202,
    response_model=Envelope[JobRead],
    summary="Add a knowledge document",
    response_description="The ingest job (KB_INGEST_TEXT, _FILE, _URL or _YOUTUBE); when "
    "DONE, `result.documentId` names the document.",
    responses={
        202: {"links": JOB_LINKS},
        **error_responses(InvalidRequest, NotFound, UploadConsumed, Unprocessable),
    },
    openapi_extra=submit_headers_openapi(),
)
async def create_knowledge(
    request: Request,
    body: KnowledgeCreate,
    principal: KnowledgeWriter,
    services: ServicesDep,
    key: IdempotencyKeyDep,
) -> Response:
    """Add a document to the knowledge base: a project's (`projectId`) or, without one, the
    whole workspace's, made from `text`, an uploaded `file`, a web page (`url`) or a YouTube
    video's transcript (`youtube`). Answers `202` with the ingest Job; when it is DONE,
    `result.documentId` names the document, and its most relevant passages are used by the
    next post generations."""
    job_type = job_type_of(body)
    reservation = await prepare_upload(
        services.database,
        services.storage,
        services.settings,
        principal,
        body.upload_id if body.type == "file" else None,
    )
    estimate_ms = await services.estimates.estimate_ms(job_type)
    return await submitted_response(
        request,
        services,
        principal,
        key,
        lambda: knowledge_request(body, estimate_ms, reservation),
    )
