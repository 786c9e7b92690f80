from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, StrictStr, Tag

from scripe_api.api.schemas import NonNegativeJsonInt, RequestModel
from scripe_api.posts.schemas import ContentType, ScheduleTime, StoredText

SOURCE_TEXT_MAX_BYTES = 100 * 1024


class GenerationSourceText(RequestModel):
    """Write from this text."""

    text: StoredText = Field(min_length=1, description="1 character … 100 KB.")


class GenerationSourceNote(RequestModel):
    """Write from a saved note."""

    note_id: StrictStr = Field(description="A note of the same project.")


def _source_kind(value: Any) -> str | None:
    if isinstance(value, RequestModel):
        return type(value).__name__
    if not isinstance(value, dict):
        return None
    present = [key for key in ("text", "noteId") if key in value]
    if present == ["text"]:
        return "GenerationSourceText"
    if present == ["noteId"]:
        return "GenerationSourceNote"
    return None


# Exactly one of `text` and `noteId`: one schema each, so SDKs get a typed union. The tags are
# the class names, which the validation-error mapping leaves out of the field it names.
SOURCE_TAGS = frozenset({"GenerationSourceText", "GenerationSourceNote"})
GenerationSource = Annotated[
    Annotated[GenerationSourceText, Tag("GenerationSourceText")]
    | Annotated[GenerationSourceNote, Tag("GenerationSourceNote")],
    Discriminator(
        _source_kind,
        custom_error_type="source_one_of",
        custom_error_message="source needs exactly one of text and noteId",
    ),
]


class GenerationOptions(RequestModel):
    language: StoredText | None = Field(
        None, max_length=35, description="BCP-47 tag, e.g. `en`.", examples=["en"]
    )
    content_type: ContentType | None = None
    length: Literal["short", "medium", "long"] | None = Field(
        None, description="short ≈ 400–700, medium ≈ 700–1 300 (default), long ≈ 1 300–2 500 chars."
    )


class GenerationCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "source": {"text": "We cut our onboarding from 14 days to 3. Here is how."},
                    "options": {"language": "en", "contentType": "PERSONAL", "length": "medium"},
                    "wait_for_completion_ms": 10000,
                },
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "source": {"noteId": "note_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"},
                },
            ]
        }
    )

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
    wait_for_completion_ms: NonNegativeJsonInt | None = Field(
        None,
        alias="wait_for_completion_ms",
        description="Soft hint: wait up to this many ms for the job to finish before answering "
        "(values above 25 000 are clamped to 25 000). The response shape is the same either way.",
    )
