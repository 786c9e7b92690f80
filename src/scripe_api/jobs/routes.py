from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.responses import StreamingResponse

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
from scripe_api.jobs.stream import JobStream, StreamSettings, resume_point

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


_EVENT_STREAM_DOC = (
    "Server-Sent Events, each with `id:` (the job's event sequence number), `event:` and "
    "`data:` (JSON): `status` — the Job as `GET /v1/jobs/{jobId}` returns it, first on a fresh "
    'connection and on every status change; `progress` — `{"progress", "message", '
    '"updatedAt"}`; `done` — the ended Job (with its cost), after which the server closes the '
    "stream. A comment line (`: keep-alive`) every 15 s while idle."
)


@router.get(
    "/jobs/{jobId}/events",
    summary="Follow a job's events (Server-Sent Events)",
    response_class=StreamingResponse,
    response_description="The job's events as `text/event-stream`.",
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    # One event of the stream (Open API 3.1 has no `itemSchema` yet).
                    "schema": {
                        "type": "object",
                        "description": _EVENT_STREAM_DOC,
                        "required": ["event", "data"],
                        "properties": {
                            "event": {"type": "string", "enum": ["status", "progress", "done"]},
                            "data": {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "description": "The Job (`status`, `done`) or the progress "
                                "snapshot (`progress`), as JSON.",
                            },
                            "id": {
                                "type": "string",
                                "description": "The job's event sequence number (1, 2, 3…).",
                            },
                            "retry": {"type": "integer", "minimum": 0},
                        },
                    },
                    "example": 'id: 3\nevent: progress\ndata: {"progress": 0.4, "message": '
                    '"Generating post", "updatedAt": "2026-05-15T08:21:03.500Z"}\n\n',
                }
            }
        },
        **error_responses(NotFound),
    },
    openapi_extra={
        "parameters": [
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this event (what EventSource sends when it "
                "reconnects); `starting_after` wins when both are sent.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
            }
        ]
    },
)
async def get_job_events(
    job_id: JobId,
    principal: JobsLister,
    services: ServicesDep,
    request: Request,
    starting_after: Annotated[
        int | None,
        Query(ge=0, le=10**18, description="Resume after this event id (wins over the header)."),
    ] = None,
) -> Response:
    """A job's progress as it happens, for its whole life: `status`, `progress` and `done`
    events, resumable from any event id (`Last-Event-ID` or `starting_after`) while the job
    runs and for an hour after; later, the job's state is rebuilt from its row. Same scopes and
    404 rules as `GET /v1/jobs/{jobId}`; at most 100 streams open at once per workspace
    (`429 rate_limited` beyond)."""
    settings = services.settings
    stream = JobStream(
        services.database,
        services.resources.redis,
        services.events,
        StreamSettings(
            settings.events_streams_per_workspace,
            settings.events_keepalive_seconds,
            settings.events_stream_max_seconds,
            services.stream_reads,
        ),
        principal,
        job_id,
        resume_point(request.headers.get("last-event-id"), starting_after),
    )
    return await stream.open()


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
