"""What generation uses and the API does not expose: tone of voice, samples, content pillars."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class VoiceProfile(_Strict):
    description: str = Field("", max_length=2000, description='e.g. "direct, warm, no jargon"')
    formality: int = Field(3, ge=1, le=5)
    emoji: Literal["none", "light", "heavy"] = "none"
    person: Literal["first", "third"] = "first"
    hashtag_count: int = Field(3, ge=0, le=5)


class ContentPillar(_Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)


class ProjectVoice(_Strict):
    """The voice block of a project file (YAML/JSON) for `scripe-api projects create --file`."""

    profile: VoiceProfile = Field(default_factory=VoiceProfile)
    samples: list[str] = Field(default_factory=list, max_length=50)
    pillars: list[ContentPillar] = Field(default_factory=list, max_length=20)
