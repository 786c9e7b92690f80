from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, StrictStr, Tag

from scripe_api.api.schemas import NonNegativeJsonInt, RequestModel
from scripe_api.core.errors import InvalidRequest
from scripe_api.posts.schemas import ContentType, ScheduleTime, StoredText

SOURCE_TEXT_MAX_BYTES = 100 * 1024


class GenerationSourceText(RequestModel):
    """Write from this text."""

    text: StoredText = Field(min_length=1, description="1 character … 100 KB.")


class GenerationSourceNote(RequestModel):
    """Write from a saved note."""

    note_id: StrictStr = Field(description="A note of the same project.")


class GenerationSourceSource(RequestModel):
    """Write from a source (`POST /v1/sources`)."""

    source_id: StrictStr = Field(description="A Done source of the same project.")


# The one-of's keys, each with the schema (and tag) of its member.
SOURCE_KINDS = {
    "text": "GenerationSourceText",
    "noteId": "GenerationSourceNote",
    "sourceId": "GenerationSourceSource",
}


def _source_kind(value: Any) -> str | None:
    if isinstance(value, RequestModel):
        return type(value).__name__
    if not isinstance(value, dict):
        return None
    present = [key for key in SOURCE_KINDS if key in value]
    return SOURCE_KINDS[present[0]] if len(present) == 1 else None


# Exactly one of `text`, `noteId` and `sourceId`: one schema each, so SDKs get a typed union.
# The tags are the class names, which the validation-error mapping leaves out of the field it
# names.
SOURCE_TAGS = frozenset(SOURCE_KINDS.values())
GenerationSource = Annotated[
    Annotated[GenerationSourceText, Tag("GenerationSourceText")]
    | Annotated[GenerationSourceNote, Tag("GenerationSourceNote")]
    | Annotated[GenerationSourceSource, Tag("GenerationSourceSource")],
    Discriminator(
        _source_kind,
        custom_error_type="source_one_of",
        custom_error_message="source needs exactly one of text, noteId and sourceId",
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
    """What to write from, for which project. The source may also be given flat, as real
    clients send it: a top-level `text`, `noteId` or `sourceId` instead of `source` is an alias
    of `source: {…}` with that one field (same rules and errors, and the same Idempotency-Key
    fingerprint as the canonical form). Exactly one of the two forms: `source` beside a flat
    field, or two flat fields, is a `400 invalid_request`."""

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
    source: GenerationSource = Field(
        description="Exactly one of `text`, `noteId` and `sourceId`. Alias: the same field at "
        "the top level of the body instead of this object."
    )
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

    @classmethod
    def canonical_body(cls, body: Any) -> Any:
        """The flat form real clients send (INGEST.md §5) as the canonical form it stands for:
        `{"projectId", "text": …}` is `{"projectId", "source": {"text": …}}`, and so for
        `noteId` and `sourceId`. Anything else is returned as it is, for validation to judge.

        The pipeline applies this to the parsed body before validating it and before taking
        the Idempotency-Key fingerprint, so both spellings are the same request."""
        if not isinstance(body, dict):
            return body
        flat = [key for key in SOURCE_KINDS if key in body]
        if not flat:
            return body
        if "source" in body:
            raise InvalidRequest(
                f"Send the source either as a source object or as a top-level {flat[0]}, not both.",
                details={"field": "source"},
            )
        if len(flat) > 1:
            raise InvalidRequest(
                f"source needs exactly one of text, noteId and sourceId; got {' and '.join(flat)}.",
                details={"field": "source"},
            )
        canonical = {key: value for key, value in body.items() if key != flat[0]}
        canonical["source"] = {flat[0]: body[flat[0]]}
        return canonical
