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
from scripe_api.core.errors import NotFound, Unprocessable
from scripe_api.generations.schemas import GenerationCreate
from scripe_api.generations.service import generation_request
from scripe_api.jobs.schemas import JobRead
from scripe_api.spend.errors import SpendCapExceeded

router = APIRouter(route_class=GuardedRoute, tags=["posts"])

Generator = Annotated[Principal, Depends(Access(("posts:write",), "ai"))]


@router.post(
    "/posts/generations",
    status_code=202,
    response_model=Envelope[JobRead],
    summary="Generate a post",
    response_description="The POST_GENERATION job (QUEUED, or later when the wait saw it move).",
    responses={
        202: {"links": JOB_LINKS},
        **error_responses(SpendCapExceeded, NotFound, Unprocessable),
    },
    openapi_extra=submit_headers_openapi(),
)
async def create_post_generation(
    request: Request,
    body: GenerationCreate,
    principal: Generator,
    services: ServicesDep,
    key: IdempotencyKeyDep,
) -> Response:
    """Kick off an AI-written LinkedIn post for a project. Validates the input, reserves AI
    spend, enqueues a POST_GENERATION job and answers `202` with the Job. Poll
    `GET /v1/jobs/{jobId}` until DONE (then `result.postId` names the post) or FAILED — or pass
    `wait_for_completion_ms` to have short jobs finish in one round trip.

    Alias: `{"projectId", "text"}`, `{"projectId", "noteId"}` or `{"projectId", "sourceId"}`
    (the source field at the top level) stands for `source: {…}` with that field — same rules,
    errors and Idempotency-Key fingerprint. Sending both forms, or two flat fields, is a 400."""
    estimate_ms = await services.estimates.estimate_ms("POST_GENERATION")
    return await submitted_response(
        request,
        services,
        principal,
        key,
        lambda: generation_request(services.settings, principal, body, estimate_ms),
        wait_ms=body.wait_for_completion_ms,
    )
