from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel
from pydantic.config import JsonDict

from scripe_api.api.schemas import ApiModel, Timestamp

JobType = Literal[
    "POST_GENERATION",
    "KB_INGEST_TEXT",
    "KB_INGEST_FILE",
    "KB_INGEST_URL",
    "KB_INGEST_YOUTUBE",
    "SOURCE_INGEST_FILE",
]
JobStatus = Literal["QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"]


class JobProgress(ApiModel):
    progress: float = Field(ge=0, le=1, examples=[0.4])
    message: str = Field(examples=["Generating post"])
    updated_at: Timestamp


class PostGenerationResult(ApiModel):
    post_id: str = Field(
        description="The post written.", examples=["post_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"]
    )
    schedule_skipped: bool = Field(
        False,
        description="Present (true) when the requested `scheduledFor` had passed by completion: "
        "the post is a draft instead.",
    )


class KnowledgeIngestResult(ApiModel):
    document_id: str = Field(
        description="The knowledge document made.", examples=["kb_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"]
    )


class SourceIngestResult(ApiModel):
    source_id: str = Field(
        description="The source made from the file.", examples=["src_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"]
    )


class JobCost(ApiModel):
    """What the job costs against the daily AI spend cap, in cents."""

    estimated_cents: int = Field(description="The estimate reserved at submit.")
    reserved_cents: int = Field(description="What the job holds against the cap right now.")
    actual_cents: int | None = Field(
        description="What the provider billed, once `state` is final (0 when cancelled or "
        "refunded); null before."
    )
    state: Literal["none", "reserved", "final"] = Field(
        description="`none`: nothing is charged (test keys, jobs that call no AI provider); "
        "`reserved` until the job ends; `final` once settled from the ledger."
    )


class JobUrls(ApiModel):
    """Where to follow the job, as paths under the API's root."""

    get: str = Field(
        description="`GET` it: the job.", examples=["/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"]
    )
    cancel: str = Field(
        description="`POST` to it: cancel the job while QUEUED.",
        examples=["/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D/cancel"],
    )
    events: str = Field(
        description="`GET` it: the job's events as Server-Sent Events.",
        examples=["/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D/events"],
    )


class _JobFields(ApiModel):
    """What every job has; `type` and `result` are its variant's."""

    id: str = Field(examples=["job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    status: JobStatus
    project_id: str | None
    started_at: Timestamp | None
    completed_at: Timestamp | None
    progress: JobProgress | None = Field(
        None, description="Live progress while RUNNING; null while QUEUED and once finished."
    )
    error_code: str | None = Field(
        description="provider_error, provider_timeout, provider_rate_limited, content_rejected, "
        "project_unavailable, attempts_exhausted, internal_error, or deadline_exceeded (a "
        "CANCELLED job not started by its Cancel-After deadline)."
    )
    error_message: str | None
    attempt_count: int = Field(description="How many times a worker has started the job.")
    estimated_completion_ms: int | None = Field(
        description="Expected duration from submission to completion, fixed at submit."
    )
    deadline_at: Timestamp | None = Field(
        description="The job's `Cancel-After` deadline: not started by then, it is CANCELLED "
        "with `deadline_exceeded`. Null without one."
    )
    cost: JobCost
    urls: JobUrls
    created_at: Timestamp
    updated_at: Timestamp


_RUNNING_EXAMPLE: JsonDict = {
    "id": "job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
    "type": "POST_GENERATION",
    "status": "RUNNING",
    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
    "startedAt": "2026-05-15T08:21:00.120Z",
    "completedAt": None,
    "progress": {
        "progress": 0.4,
        "message": "Generating post",
        "updatedAt": "2026-05-15T08:21:03.500Z",
    },
    "result": None,
    "errorCode": None,
    "errorMessage": None,
    "attemptCount": 1,
    "estimatedCompletionMs": 25000,
    "deadlineAt": None,
    "cost": {"estimatedCents": 5, "reservedCents": 5, "actualCents": None, "state": "reserved"},
    "urls": {
        "get": "/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
        "cancel": "/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D/cancel",
        "events": "/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D/events",
    },
    "createdAt": "2026-05-15T08:21:00.000Z",
    "updatedAt": "2026-05-15T08:21:03.500Z",
}


class PostGenerationJob(_JobFields):
    """A POST_GENERATION job; when DONE, `result.postId` names the post."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RUNNING_EXAMPLE]})

    type: Literal["POST_GENERATION"]
    result: PostGenerationResult | None = Field(description="Set once DONE.")


class KnowledgeIngestJob(_JobFields):
    """A KB_INGEST_* job; when DONE, `result.documentId` names the knowledge document."""

    type: Literal["KB_INGEST_TEXT", "KB_INGEST_FILE", "KB_INGEST_URL", "KB_INGEST_YOUTUBE"]
    result: KnowledgeIngestResult | None = Field(description="Set once DONE.")


class SourceIngestJob(_JobFields):
    """A SOURCE_INGEST_FILE job; when DONE, `result.sourceId` names the source."""

    type: Literal["SOURCE_INGEST_FILE"]
    result: SourceIngestResult | None = Field(description="Set once DONE.")


class JobRead(
    RootModel[
        Annotated[
            PostGenerationJob | KnowledgeIngestJob | SourceIngestJob,
            Field(discriminator="type"),
        ]
    ]
):
    """An async job. Poll `GET /v1/jobs/{jobId}` until `status` is DONE, FAILED or CANCELLED.
    Its `type` says which shape `result` has once DONE."""


_EVENTS_CREDENTIAL_EXAMPLE = (
    "est_1.1778833260.org_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D.key_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D."
    "q3Xv0dM1pQ8rS2tU4wY6zA8cE0gI2kM4oQ6sU8wY0a2"
)


class JobEventsTokenRead(ApiModel):
    """A short-lived, read-only credential for one job's event stream: what a browser's
    `EventSource` (which cannot send `Authorization`) opens the stream with. Never put an API
    key in a URL; put this token there instead."""

    url: str = Field(
        description="The job's event stream with the token: `new EventSource(apiRoot + url)`.",
        examples=[
            f"/v1/jobs/job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D/events?token={_EVENTS_CREDENTIAL_EXAMPLE}"
        ],
    )
    token: str = Field(
        description="The token alone: the `token` query parameter of "
        "`GET /v1/jobs/{jobId}/events`, valid for this job only. A credential: keep it out of "
        "logs.",
        examples=[_EVENTS_CREDENTIAL_EXAMPLE],
    )
    expires_at: Timestamp = Field(
        description="From then on the token opens no stream (a stream already open goes on); "
        "it stops earlier if its key is revoked or expires. Mint another to reconnect later."
    )
