from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, StrictInt, StrictStr, model_validator

from scripe_api.api.schemas import RequestModel
from scripe_api.posts.schemas import ContentType, ScheduleTime, StoredText

SOURCE_TEXT_MAX_BYTES = 100 * 1024


class GenerationSource(RequestModel):
    """Exactly one of `text` and `noteId`."""

    text: StoredText | None = Field(None, min_length=1, description="1 character … 100 KB.")
    note_id: StrictStr | None = Field(None, description="A note of the same project.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.text is None) == (self.note_id is None):
            raise ValueError("source needs exactly one of text and noteId")
        return self


class GenerationOptions(RequestModel):
    language: StoredText | None = Field(
        None, max_length=35, description="BCP-47 tag, e.g. `en`.", examples=["en"]
    )
    content_type: ContentType | None = None
    length: Literal["short", "medium", "long"] | None = Field(
        None, description="short ≈ 400–700, medium ≈ 700–1 300 (default), long ≈ 1 300–2 500 chars."
    )


class GenerationCreate(RequestModel):
    project_id: StrictStr = Field(examples=["proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    source: GenerationSource
    scheduled_for: ScheduleTime | None = Field(
        None,
        description="Schedule the resulting post at this time (must be in the future and carry "
        "a UTC offset). Defaults to a draft.",
    )
    options: GenerationOptions | None = Field(
        None,
        description="Optional steering. The worker already loads the project's tone-of-voice "
        "profile, voice samples, content pillars and knowledge base.",
    )
    wait_for_completion_ms: StrictInt | None = Field(
        None,
        alias="wait_for_completion_ms",
        ge=0,
        description="Soft hint: wait up to this many ms for the job to finish before answering "
        "(values above 25 000 are clamped to 25 000). The response shape is the same either way.",
    )
