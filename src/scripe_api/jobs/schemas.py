from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

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


class JobRead(ApiModel):
    """An async job. Poll `GET /v1/jobs/{jobId}` until `status` is DONE, FAILED or CANCELLED."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
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
                    "createdAt": "2026-05-15T08:21:00.000Z",
                    "updatedAt": "2026-05-15T08:21:03.500Z",
                }
            ]
        }
    )

    id: str = Field(examples=["job_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    type: JobType
    status: JobStatus
    project_id: str | None
    started_at: Timestamp | None
    completed_at: Timestamp | None
    progress: JobProgress | None = Field(
        None, description="Live progress while RUNNING; null while QUEUED and once finished."
    )
    result: dict[str, Any] | None = Field(
        description='POST_GENERATION: {"postId"} (plus "scheduleSkipped": true when the '
        'requested schedule had passed); KB_INGEST_*: {"documentId"}.'
    )
    error_code: str | None = Field(
        description="provider_error, provider_timeout, provider_rate_limited, content_rejected, "
        "project_unavailable, attempts_exhausted or internal_error."
    )
    error_message: str | None
    attempt_count: int = Field(description="How many times a worker has started the job.")
    estimated_completion_ms: int | None = Field(
        description="Expected duration from submission to completion, fixed at submit."
    )
    created_at: Timestamp
    updated_at: Timestamp
