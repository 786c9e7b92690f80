from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp

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


class PostRead(ApiModel):
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
    project_id: StrictStr
    content: StrictStr | None = Field(None, description="Up to 100 000 characters.")
    title: StrictStr | None = Field(None, description="Up to 500 characters.")
    content_type: ContentType | None = None
    scheduled_for: AwareDatetime | None = Field(
        None, description="Must be in the future; the post is then `scheduled`, else `draft`."
    )


class PostUpdate(RequestModel):
    content: StrictStr | None = Field(None, description="Up to 100 000 characters.")
    title: StrictStr | None = Field(None, description="Up to 500 characters.")
    content_type: ContentType | None = None
    scheduled_for: AwareDatetime | None = Field(
        None,
        description="A future time (re)schedules the post; null unschedules it back to "
        "`draft`; absent leaves the schedule as it is.",
    )
