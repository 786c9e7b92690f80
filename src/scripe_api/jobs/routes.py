from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import StreamingResponse

from scripe_api.api.access import Access, bearer_scheme
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
from scripe_api.jobs.schemas import JobEventsTokenRead, JobRead
from scripe_api.jobs.stream import JobStream, StreamSettings, resume_point
from scripe_api.jobs.stream_tokens import StreamTokens

if TYPE_CHECKING:
    from scripe_api.api.state import Collaborators, Services

router = APIRouter(route_class=GuardedRoute, tags=["jobs"])

# A key that submits jobs may follow them: the submitting scopes read (and cancel) jobs too.
JOB_READ_SCOPES = ("jobs:read", "posts:write", "knowledge:write", "sources:write")
JobsLister = Annotated[Principal, Depends(Access(JOB_READ_SCOPES, "read"))]
# Reading one job also reads its progress snapshot, in the rate limiter's round trip.
JobsReader = Annotated[Principal, Depends(Access(JOB_READ_SCOPES, "read", service.progress_of))]
JobsWriter = Annotated[
    Principal,
    Depends(Access(("jobs:write", "posts:write", "knowledge:write", "sources:write"), "write")),
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


_JOB_EVENTS_ACCESS = Access(JOB_READ_SCOPES, "read")


def _stream_tokens(services: Services) -> StreamTokens:
    settings = services.settings
    return StreamTokens(
        services.database, settings.secrets_newest_first(), settings.events_token_ttl_seconds
    )


async def admit_job_events_reader(
    request: Request,
    job_id: JobId,
    services: ServicesDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    token: Annotated[
        str | None,
        Query(
            description="An event-stream token from `POST /v1/jobs/{jobId}/events/token`, "
            "for a client that cannot send `Authorization` (a browser's EventSource). Used "
            "only when no `Authorization` header is sent."
        ),
    ] = None,
) -> Principal:
    """Who follows the stream: the API key, checked like every operation's (API.md §1.5);
    without one, the key behind an event-stream token for this job — then its plan and
    scopes as the key's, and the rate limit of its workspace."""
    pipeline: Collaborators = request.app.state.pipeline
    gatekeeper = pipeline.gatekeeper
    if token is None or "authorization" in request.headers:
        return (await gatekeeper.admit(request, _JOB_EVENTS_ACCESS)).principal
    principal = await _stream_tokens(services).principal_for(token, job_id)
    return (await gatekeeper.admit_principal(request, principal, _JOB_EVENTS_ACCESS)).principal


JobEventsReader = Annotated[Principal, Depends(admit_job_events_reader)]


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
        # What the request pipeline adds to the operations it runs (this one authenticates
        # itself: an API key, or an event-stream token).
        "x-scopes": list(JOB_READ_SCOPES),
        "parameters": [
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this event (what EventSource sends when it "
                "reconnects); `starting_after` wins when both are sent.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
            }
        ],
    },
)
async def get_job_events(
    job_id: JobId,
    principal: JobEventsReader,
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
    (`429 rate_limited` beyond).

    A browser's `EventSource` cannot send `Authorization`: mint a token with
    `POST /v1/jobs/{jobId}/events/token` and open the `url` it returns (`?token=…`). A token
    that is malformed, expired or for another job is `401 invalid_token`; one whose key was
    revoked since is `401 key_revoked`."""
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
    "/jobs/{jobId}/events/token",
    response_model=Envelope[JobEventsTokenRead],
    summary="Create a token to follow a job's events from a browser",
    response_description="The token, the stream's URL with it, and when it expires.",
    responses=error_responses(NotFound),
)
async def create_job_events_token(
    job_id: JobId, principal: JobsLister, services: ServicesDep
) -> Response:
    """A short-lived, read-only token that opens this job's event stream without an API key:
    `new EventSource(apiRoot + url)` in a browser, which cannot send `Authorization` (and an API
    key never goes in a URL). It opens `GET /v1/jobs/{jobId}/events` of this job only, for one
    hour (the server's setting), and only while the key that minted it is valid. Same scopes
    and 404 rules as the stream. Each call mints a new token; nothing is stored, so an
    Idempotency-Key changes nothing here."""
    minted = await _stream_tokens(services).mint(principal, job_id)
    body = Envelope[JobEventsTokenRead](
        data=JobEventsTokenRead(url=minted.url, token=minted.token, expires_at=minted.expires_at)
    )
    response = json_response(body.model_dump_json(by_alias=True).encode())
    response.headers["Cache-Control"] = "no-store"  # a credential: no cache may keep it
    return response


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
