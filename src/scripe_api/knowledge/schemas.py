from __future__ import annotations

from pydantic import ConfigDict, Field, StrictStr

from scripe_api.api.schemas import RequestModel
from scripe_api.posts.schemas import StoredText

KNOWLEDGE_TEXT_MAX_BYTES = 1024 * 1024
SUPPORTED_TYPES = ("text", "file", "url", "youtube")
URL_MAX_CHARS = 2048
# The job each type of document is made by.
JOB_TYPES = {
    "text": "KB_INGEST_TEXT",
    "file": "KB_INGEST_FILE",
    "url": "KB_INGEST_URL",
    "youtube": "KB_INGEST_YOUTUBE",
}


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
        description="What the document is made from: `text` (`name`, `text`), `file` (`name`, "
        "`uploadId` from `POST /v1/uploads`), `url` (`url`, a web page or PDF) or `youtube` "
        "(`url` of a video: its transcript). Any other type answers `422 unprocessable`.",
        examples=["text"],
    )
    name: StoredText | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Required for `text` and `file`; `url` and `youtube` default to the URL.",
        examples=["Pricing FAQ"],
    )
    text: StoredText | None = Field(
        None, min_length=1, description="`text`: 1 character … 1 MB (UTF-8)."
    )
    upload_id: StrictStr | None = Field(
        None, description="`file`: a completed upload (PDF, DOCX, text, Markdown, HTML)."
    )
    url: StrictStr | None = Field(
        None,
        min_length=1,
        max_length=URL_MAX_CHARS,
        description="`url`: an http(s) page or PDF; `youtube`: a video URL (watch, youtu.be, "
        "shorts, embed).",
    )
    project_id: StrictStr | None = Field(
        None,
        description="The project the document belongs to; absent → a workspace-wide document "
        "every project of the workspace uses.",
        examples=["proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"],
    )
