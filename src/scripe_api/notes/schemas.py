from __future__ import annotations

from pydantic import ConfigDict, Field, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp
from scripe_api.posts.schemas import StoredText

NOTE_CONTENT_MAX_BYTES = 100 * 1024


class NoteRead(ApiModel):
    id: str = Field(examples=["note_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    project_id: str
    content: str
    created_at: Timestamp
    updated_at: Timestamp


class NoteCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "content": "Idea: what 3 years of remote work taught us.",
                }
            ]
        }
    )

    project_id: StrictStr
    content: StoredText = Field(min_length=1, description="1 character … 100 KB (UTF-8).")
