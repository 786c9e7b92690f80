from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from scripe_api.api.access import Access, GuardedRoute
from scripe_api.api.dependencies import ServicesDep, UnitOfWorkDep
from scripe_api.api.openapi import JOB_LINKS, error_responses
from scripe_api.api.schemas import Envelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound, Unprocessable
from scripe_api.generations import service
from scripe_api.generations.schemas import GenerationCreate
from scripe_api.jobs.schemas import JobRead
from scripe_api.jobs.service import job_view, wait_for_job
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
)
async def create_post_generation(
    body: GenerationCreate, principal: Generator, services: ServicesDep, uow: UnitOfWorkDep
) -> Envelope[JobRead]:
    """Kick off an AI-written LinkedIn post for a project. Validates the input, reserves AI
    spend, enqueues a POST_GENERATION job and answers `202` with the Job. Poll
    `GET /v1/jobs/{jobId}` until DONE (then `result.postId` names the post) or FAILED — or pass
    `wait_for_completion_ms` to have short jobs finish in one round trip."""
    resources = services.resources
    job = await service.submit_generation(
        uow, resources.redis, services.estimates, services.settings, principal, body
    )
    accepted = Envelope[JobRead](data=job_view(job))
    # The job is durable (and enqueued) before anyone is told about it. `accepted` is the
    # response as of this commit: what a retry with the same Idempotency-Key gets back.
    await uow.commit(accepted)
    wait_ms = min(body.wait_for_completion_ms or 0, services.settings.wait_max_ms)
    if wait_ms <= 0:
        return accepted
    view = await wait_for_job(
        resources.read_sessionmaker,
        resources.redis,
        services.completions,
        principal,
        accepted.data,
        wait_ms,
    )
    return Envelope[JobRead](data=view)
