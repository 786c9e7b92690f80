from __future__ import annotations

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from scripe_api.api.schemas import ApiModel, RequestModel, Timestamp

DOCUMENT_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
TEXT_TYPES = ("text/plain", "text/markdown", "text/html")
MEDIA_TYPES = (
    "audio/mpeg",
    "audio/mp4",
    "audio/wav",
    "audio/webm",
    "audio/x-m4a",
    "video/mp4",
    "video/quicktime",
    "video/webm",
)
UPLOAD_TYPES = DOCUMENT_TYPES + TEXT_TYPES + MEDIA_TYPES


class UploadCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"contentType": "application/pdf", "maxSizeBytes": 2000000}]
        }
    )

    content_type: StrictStr = Field(
        description="The file's media type: " + ", ".join(f"`{t}`" for t in UPLOAD_TYPES) + "."
    )
    max_size_bytes: StrictInt | None = Field(
        None,
        ge=1,
        description="The largest PUT accepted (default and maximum: 100 MB for documents, 25 MB "
        "for text, 500 MB for audio and video).",
    )


class UploadRead(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "upl_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D",
                    "uploadUrl": "https://api.scripe.io/v1/uploads/upl_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"
                    "/content?expires=1778833260&signature=1.3q2-7wE…",
                    "method": "PUT",
                    "contentType": "application/pdf",
                    "maxSizeBytes": 2000000,
                    "expiresAt": "2026-05-15T08:36:00.000Z",
                }
            ]
        }
    )

    id: str
    upload_url: str = Field(
        description="PUT the raw bytes here (no Authorization), with the same Content-Type, "
        "once, before `expiresAt`."
    )
    method: str = Field("PUT", description="Always PUT.")
    content_type: str
    max_size_bytes: int
    expires_at: Timestamp
