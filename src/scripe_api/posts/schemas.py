from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp
from scripe_api.core.clock import truncate_ms

PostStatus = Literal[
    "waitingProcessing",
    "draft",
    "waitingApproval",
    "approved",
    "rejected",
    "scheduled",
    "published",
    "suggested",
]
ContentType = Literal[
    "PERSONAL", "BUSINESS_INTERNAL", "BUSINESS_EXTERNAL", "EDUCATIONAL", "UNKNOWN"
]
POST_CONTENT_MAX_CHARS = 100_000
POST_TITLE_MAX_CHARS = 500


def _storable(value: str) -> str:
    # Postgres text holds neither NUL nor lone surrogates: refuse them here (400 naming the
    # field) rather than fail at INSERT time (500).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


# Free text a client sends to be stored (post content, note content, a generation's source).
StoredText = Annotated[StrictStr, AfterValidator(_storable)]


def _in_utc(value: datetime) -> datetime:
    # An offset can push a valid local time past the calendar's edge in UTC (9999-12-31T23:00
    # at -05:00): such a moment can be neither compared nor stored, so it is refused here.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall between years 1 and 9999 in UTC") from None


# A requested schedule, in UTC at the millisecond precision the API speaks and stores: finer
# digits are dropped here, so the answer to the write and every later read agree (the database
# would otherwise round them).
ScheduleTime = Annotated[AwareDatetime, AfterValidator(_in_utc), AfterValidator(truncate_ms)]


class PostRead(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "post_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "status": "draft",
                    "platform": "LINKEDIN",
                    "contentType": "PERSONAL",
                    "title": "Onboarding in 3 days",
                    "content": "We cut our onboarding from 14 days to 3.\n\nHere is how.",
                    "createdAt": "2026-05-15T08:21:00.000Z",
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "scheduledAt": None,
                    "updatedAt": None,
                }
            ]
        }
    )

    id: str = Field(examples=["post_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    status: PostStatus
    platform: Literal["LINKEDIN"]
    content_type: ContentType
    title: str | None
    content: str
    created_at: Timestamp
    project_id: str
    scheduled_at: Timestamp | None
    updated_at: Timestamp | None


class PostCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "title": "Onboarding in 3 days",
                    "content": "We cut our onboarding from 14 days to 3.",
                    "contentType": "BUSINESS_EXTERNAL",
                    "scheduledFor": "2026-12-01T08:30:00Z",
                }
            ]
        }
    )

    project_id: StrictStr
    content: StoredText | None = Field(None, description="Up to 100 000 characters.")
    title: StoredText | None = Field(None, description="Up to 500 characters.")
    content_type: ContentType | None = None
    scheduled_for: ScheduleTime | None = Field(
        None, description="Must be in the future; the post is then `scheduled`, else `draft`."
    )


class PostUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"title": "Onboarding in 3 days (v2)"}, {"scheduledFor": None}]
        }
    )

    content: StoredText | None = Field(None, description="Up to 100 000 characters.")
    title: StoredText | None = Field(None, description="Up to 500 characters.")
    content_type: ContentType | None = None
    scheduled_for: ScheduleTime | None = Field(
        None,
        description="A future time (re)schedules the post; null unschedules it back to "
        "`draft`; absent leaves the schedule as it is.",
    )
