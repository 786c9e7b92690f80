from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from scripe_api.api.access import Access
from scripe_api.api.dependencies import (
    CursorQuery,
    LimitQuery,
    PrefetchedDep,
    ServicesDep,
    UnitOfWorkDep,
)
from scripe_api.api.openapi import CANCELLED_JOB_LINKS, JOB_RESULT_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope, ListEnvelope, json_response
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound
from scripe_api.jobs import service
from scripe_api.jobs.errors import NotCancellable
from scripe_api.jobs.schemas import JobRead

router = APIRouter(route_class=GuardedRoute, tags=["jobs"])

JobsLister = Annotated[
    Principal, Depends(Access(("jobs:read", "posts:write", "knowledge:write"), "read"))
]
# Reading one job also reads its progress snapshot, in the rate limiter's round trip.
JobsReader = Annotated[
    Principal,
    Depends(Access(("jobs:read", "posts:write", "knowledge:write"), "read", service.progress_of)),
]
JobsWriter = Annotated[
    Principal, Depends(Access(("jobs:write", "posts:write", "knowledge:write"), "write"))
]
JobId = Annotated[str, Path(alias="jobId")]


@router.get(
    "/jobs",
    response_model=ListEnvelope[JobRead],
    summary="List jobs",
    response_description="A page of jobs, newest first.",
)
async def list_jobs(
    principal: JobsLister,
    services: ServicesDep,
    type: Annotated[
        str | None, Query(description="Comma-separated JobType values; empty: no filter.")
    ] = None,
    status: Annotated[
        str | None, Query(description="Comma-separated JobStatus values; empty: no filter.")
    ] = None,
    date_from: Annotated[
        str | None,
        Query(alias="dateFrom", description="YYYY-MM-DD or ISO 8601 with offset; inclusive."),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(alias="dateTo", description="Inclusive; a date means the end of that UTC day."),
    ] = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
    idempotency_key: Annotated[
        str | None,
        Query(
            alias="idempotencyKey",
            description="The Idempotency-Key of a job-submitting request: the page holds the "
            "job it created (empty when none, or once the key expired after 24 h), so a client "
            "that lost a submit's response finds its job without submitting again.",
        ),
    ] = None,
) -> Response:
    """The workspace's jobs, newest first. `progress` is always null here (cheap); fetch
    `GET /v1/jobs/{jobId}` for the live snapshot."""
    body = await service.list_jobs(
        services.database,
        principal,
        services.cursors,
        type_filter=type,
        status_filter=status,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
        idempotency_key=idempotency_key,
        key_window_seconds=services.pipeline.idempotency.window_seconds,
    )
    return json_response(body)


@router.get(
    "/jobs/{jobId}",
    response_model=Envelope[JobRead],
    summary="Get a job",
    response_description="The job, with live progress while RUNNING.",
    responses={200: {"links": JOB_RESULT_LINKS}, **error_responses(NotFound)},
)
async def get_job(
    job_id: JobId, principal: JobsReader, services: ServicesDep, progress: PrefetchedDep
) -> Response:
    """One job with its freshest progress snapshot (while RUNNING). Poll about once a second."""
    return json_response(await service.get_job(services.database, principal, job_id, progress))


@router.post(
    "/jobs/{jobId}/cancel",
    response_model=Envelope[JobRead],
    summary="Cancel a queued job",
    response_description="The job, now CANCELLED with `completedAt` set.",
    responses={
        200: {"links": CANCELLED_JOB_LINKS},
        **error_responses(NotFound, NotCancellable),
    },
)
async def cancel_job(
    job_id: JobId, principal: JobsWriter, services: ServicesDep, uow: UnitOfWorkDep
) -> Response:
    """Cancel a QUEUED job (its spend reservation is refunded). Any other status is a
    `409 not_cancellable`: v1 does not cancel RUNNING jobs."""
    return json_response(await service.cancel_job(uow, services.resources.redis, principal, job_id))
