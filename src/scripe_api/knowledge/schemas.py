from __future__ import annotations

from pydantic import ConfigDict, Field, StrictStr

from scripe_api.api.schemas import RequestModel
from scripe_api.posts.schemas import StoredText

KNOWLEDGE_TEXT_MAX_BYTES = 1024 * 1024
SUPPORTED_TYPES = ("text",)


class KnowledgeCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "text",
                    "name": "Pricing FAQ",
                    "text": "Our plans start at 49 EUR a month. Every plan includes the API.",
                    "projectId": "proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                }
            ]
        }
    )

    type: StrictStr = Field(
        description="What the document is made from. Only `text` is supported here; `file`, "
        "`url` and `youtube` answer `422 unprocessable`.",
        examples=["text"],
    )
    name: StoredText = Field(min_length=1, max_length=500, examples=["Pricing FAQ"])
    text: StoredText = Field(min_length=1, description="1 character … 1 MB (UTF-8).")
    project_id: StrictStr | None = Field(
        None,
        description="The project the document belongs to; absent → a workspace-wide document "
        "every project of the workspace uses.",
        examples=["proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"],
    )
