from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from scripe_api.api.schemas import ApiModel


class GeneratorInfo(ApiModel):
    provider: Literal["offline", "openai", "anthropic"]
    model: str | None
    is_ai: bool = Field(description="False for the offline generator: its posts are not AI output.")


class DependencyCheck(ApiModel):
    ok: bool
    latency_ms: float = Field(description="Time the check took, to success or failure.")
    # Absent (not null) while healthy; a fixed word, never the failure's own text.
    error: Literal["timeout", "unreachable"] | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="Only when the check failed: `timeout` or `unreachable`.",
    )


class QueueCheck(ApiModel):
    ok: bool
    depth: int | None = Field(None, description="Jobs waiting in the queue.")


class HealthChecks(BaseModel):
    db: DependencyCheck
    redis: DependencyCheck
    queue: QueueCheck


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    version: str = Field(examples=["2026-08-01"])
    generator: GeneratorInfo
    checks: HealthChecks


class HealthAuthWorkspace(BaseModel):
    id: str


class HealthAuthPrincipal(BaseModel):
    id: str
    scopes: list[str]


class HealthAuthRead(BaseModel):
    status: Literal["ok"]
    version: str
    workspace: HealthAuthWorkspace
    principal: HealthAuthPrincipal


class ProbeRead(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
