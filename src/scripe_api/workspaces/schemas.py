from __future__ import annotations

from pydantic import BaseModel, Field

from scripe_api.api.schemas import ApiModel


class WorkspaceFeatures(ApiModel):
    api_access: bool


class WorkspaceSummary(ApiModel):
    id: str = Field(examples=["org_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    name: str
    plan: str = Field(examples=["ADVANCED"])
    features: WorkspaceFeatures


class PrincipalRead(ApiModel):
    type: str = Field("api_key", examples=["api_key"])
    id: str = Field(examples=["key_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    scopes: list[str]


class WorkspaceMe(BaseModel):
    workspace: WorkspaceSummary
    principal: PrincipalRead
