from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictStr,
    WithJsonSchema,
)

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp

EventName = Literal[
    "note.created",
    "post.created",
    "post.updated",
    "post.scheduled",
    "post.unscheduled",
    "source.created",
    "job.completed",
    "job.failed",
    "knowledge.indexed",
]
# In requests the name is checked by the service: an unknown one is a 400 (WEBHOOKS.md §1), not
# the 422 of an enum's value out of range.
RequestedEvent = Annotated[
    StrictStr, WithJsonSchema({"type": "string", "enum": list(get_args(EventName))})
]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
DisabledReason = Literal["gone", "failing", "ssrf_blocked"]
URL_MAX_CHARS = 1024

_ENDPOINT_EXAMPLE: dict[str, JsonValue] = {
    "id": "whe_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
    "url": "https://hooks.example.com/scripe",
    "name": "Production receiver",
    "events": ["job.completed", "job.failed"],
    "isActive": True,
    "disabledReason": None,
    "projectId": None,
    "secretLast4": "q3Xc",
    "failingSince": None,
    "createdAt": "2026-05-15T08:21:00.000Z",
    "updatedAt": "2026-05-15T08:21:00.000Z",
}


class WebhookEndpointRead(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT_EXAMPLE]})

    id: str = Field(examples=["whe_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    url: str
    name: str
    events: list[EventName]
    is_active: bool
    disabled_reason: DisabledReason | None = Field(
        description="Why the service disabled the endpoint: the receiver answered 410 "
        "(`gone`), every delivery failed for 5 days (`failing`), or its address became "
        "private (`ssrf_blocked`). Cleared when it is activated again."
    )
    project_id: str | None
    secret_last4: str
    failing_since: Timestamp | None = Field(
        description="Since when every delivery has failed (null after a success)."
    )
    created_at: Timestamp
    updated_at: Timestamp


class WebhookEndpointWithSecret(WebhookEndpointRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str = Field(
        description="The signing secret (Standard Webhooks). Shown only here: on create and "
        "on rotation."
    )


class WebhookEndpointCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Production receiver",
                    "url": "https://hooks.example.com/scripe",
                    "events": ["job.completed", "job.failed"],
                }
            ]
        }
    )

    name: StrictStr = Field(min_length=1, max_length=128)
    url: StrictStr = Field(
        min_length=1, max_length=URL_MAX_CHARS, description="An https URL on a public address."
    )
    events: list[RequestedEvent] = Field(min_length=1, description="At least one event name.")
    project_id: StrictStr | None = Field(
        None, description="Only this project's events (default: every project's)."
    )


class WebhookEndpointUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"isActive": True}, {"events": ["job.completed"]}]}
    )

    name: StrictStr | None = Field(None, min_length=1, max_length=128)
    url: StrictStr | None = Field(None, min_length=1, max_length=URL_MAX_CHARS)
    events: list[RequestedEvent] | None = Field(None, min_length=1)
    is_active: StrictBool | None = Field(
        None, description="true re-activates a disabled endpoint (clearing `disabledReason`)."
    )
    project_id: StrictStr | None = Field(
        None, description="null: every project's events; absent: unchanged."
    )


class WebhookDeliveryRead(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "whd_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "eventId": "msg_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "eventType": "job.completed",
                    "status": "pending",
                    "attempts": 2,
                    "lastAttemptAt": "2026-05-15T08:21:05.000Z",
                    "nextAttemptAt": "2026-05-15T08:26:05.000Z",
                    "lastResponseStatus": 503,
                    "lastResponseMs": 87,
                    "lastResponseBody": "upstream unavailable",
                    "lastError": "HTTP 503",
                    "createdAt": "2026-05-15T08:21:00.000Z",
                }
            ]
        }
    )

    id: str
    event_id: str = Field(description="The `webhook-id` every attempt of it sends.")
    event_type: EventName
    status: DeliveryStatus
    attempts: int
    last_attempt_at: Timestamp | None
    next_attempt_at: Timestamp | None
    last_response_status: int | None
    last_response_ms: int | None = Field(description="How long the receiver took to answer.")
    last_response_body: str | None = Field(description="The first 1 KB of its answer.")
    last_error: str | None
    created_at: Timestamp


class ReplayRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"since": "2026-05-14T00:00:00Z", "status": "failed"}]}
    )

    since: AwareDatetime = Field(description="Deliveries created since then (at most 30 days).")
    status: Literal["failed", "all"] = "failed"


class ReplayResult(ApiModel):
    queued: int = Field(description="How many deliveries were queued again (at most 10 000).")
