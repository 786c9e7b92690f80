from __future__ import annotations

from typing import Literal

from pydantic import Field

from scripe_api.api.schemas import ApiModel, Timestamp

ProjectType = Literal["PERSONAL_BRAND", "COMPANY_PAGE"]
ProjectStatus = Literal["ACTIVE", "PAUSED", "ARCHIVED", "ERROR"]


class ProjectRead(ApiModel):
    """A project posts are written for. Its voice profile, samples and pillars stay internal."""

    id: str = Field(examples=["proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    name: str
    type: ProjectType
    status: ProjectStatus
    url: str | None
    created_at: Timestamp
