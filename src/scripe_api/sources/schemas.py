from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp
from scripe_api.posts.schemas import StoredText

SOURCE_TEXT_MAX_BYTES = 1024 * 1024
TEXT_PREVIEW_CHARS = 2000


class SourceRead(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "src_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "type": "file",
                    "status": "Done",
                    "name": "Q3 customer interviews.pdf",
                    "fileType": "application/pdf",
                    "durationSeconds": None,
                    "textPreview": "Interview 1 — onboarding took two weeks…",
                    "textPreviewTruncated": True,
                    "hasFullText": True,
                    "createdAt": "2026-05-15T08:21:00.000Z",
                    "updatedAt": "2026-05-15T08:21:00.000Z",
                }
            ]
        }
    )

    id: str
    project_id: str
    type: Literal["text", "file"]
    status: Literal["Processing", "Done", "Failed"]
    name: str | None
    file_type: str | None
    duration_seconds: float | None
    text_preview: str = Field(description="The first 2 000 characters of the text.")
    text_preview_truncated: bool
    has_full_text: bool = Field(description="The full text is kept for generations (not shown).")
    created_at: Timestamp
    updated_at: Timestamp


class SourceCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "text": "Notes from the customer call: onboarding took two weeks.",
                    "name": "Customer call",
                },
                {
                    "type": "file",
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "uploadId": "upl_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                },
            ]
        }
    )

    type: Literal["text", "file"] = Field(
        "text",
        description="`text` (stored at once: 200) or `file` (a SOURCE_INGEST_FILE job: 202).",
    )
    project_id: StrictStr
    text: StoredText | None = Field(
        None, min_length=1, description="`text`: 1 character … 1 MB. `content` is an alias."
    )
    content: StoredText | None = Field(
        None, min_length=1, description="An alias of `text` (send one of the two)."
    )
    upload_id: StrictStr | None = Field(None, description="`file`: a completed upload.")
    name: StoredText | None = Field(None, min_length=1, max_length=500)
