from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import ConfigDict, Field, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp
from scripe_api.posts.schemas import ContentType, ScheduleTime, StoredText

NOTE_CONTENT_MAX_BYTES = 100 * 1024


class NoteSlot(ApiModel):
    """The note's place on the calendar."""

    id: str = Field(examples=["slot_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    date: Timestamp = Field(
        description="The slot's date: the `date` the note was created with, or its `createdAt` "
        "when only a `contentType` was given."
    )
    content_type: ContentType | None


class NoteRead(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "note_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "folderId": None,
                    "content": "Idea: what 3 years of remote work taught us.",
                    "createdAt": "2026-05-15T08:21:00.000Z",
                    "updatedAt": "2026-05-15T08:21:00.000Z",
                    "slot": {
                        "id": "slot_01J9ZA7Q1K6W4X2Y3Z5A6B7C8E",
                        "date": "2026-05-20T09:00:00.000Z",
                        "contentType": "PERSONAL",
                    },
                }
            ]
        }
    )

    id: str = Field(examples=["note_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    project_id: str
    folder_id: str | None = Field(description="Always null: folders are not managed over the API.")
    content: str
    created_at: Timestamp
    updated_at: Timestamp
    slot: NoteSlot | None = Field(
        description="The note's calendar slot, when it was created with a `date` or a "
        "`contentType`; null otherwise."
    )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        slot = None
        if row["slot_id"] is not None:
            slot = NoteSlot(
                id=row["slot_id"], date=row["slot_date"], content_type=row["slot_content_type"]
            )
        return cls(
            id=row["id"],
            project_id=row["project_id"],
            folder_id=None,
            content=row["content"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            slot=slot,
        )


class NoteCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "content": "Idea: what 3 years of remote work taught us.",
                },
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "content": "Launch recap for the team.",
                    "date": "2026-05-20T09:00:00+02:00",
                    "contentType": "BUSINESS_INTERNAL",
                },
            ]
        }
    )

    project_id: StrictStr
    content: StoredText = Field(min_length=1, description="1 character … 100 KB (UTF-8).")
    folder_id: StrictStr | None = Field(
        None,
        description="Folders are not managed over the API: null (or absent) is accepted, "
        "any folder id is `422 unprocessable` (unknown folder).",
    )
    date: ScheduleTime | None = Field(
        None,
        description="Puts the note on the calendar at this time (ISO 8601 with a UTC offset; "
        "past or future). With `date` or `contentType` the note gets a `slot`.",
    )
    content_type: ContentType | None = Field(
        None,
        description="The content type of the note's calendar slot. Without `date`, the slot is "
        "dated at the note's creation.",
    )
