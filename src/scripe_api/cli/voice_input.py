"""A project's voice from the command line: a YAML/JSON file, flags, or both (flags win)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from scripe_api.cli.errors import CliError, describe_validation, one_line
from scripe_api.projects.voice import ContentPillar, ProjectVoice


@dataclass(frozen=True)
class VoiceFlags:
    """Profile fields given as flags (None: not given), and samples/pillars to add."""

    description: str | None = None
    formality: int | None = None
    emoji: str | None = None
    person: str | None = None
    hashtags: int | None = None
    samples: list[str] = field(default_factory=list)
    pillars: list[str] = field(default_factory=list)


def load_voice_file(path: Path) -> ProjectVoice:
    """A ProjectVoice document: `profile`, `samples`, `pillars` (JSON is YAML too)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CliError(f"{path} is not valid YAML or JSON: {one_line(str(error))}") from None
    if not isinstance(document, dict):
        raise CliError(f"{path} must hold a mapping with profile, samples and pillars")
    try:
        return ProjectVoice.model_validate(document)
    except pydantic.ValidationError as error:
        raise CliError(f"{path}: {describe_validation(error)}") from None


def parse_pillar(text: str) -> ContentPillar:
    """`"Name: description"` (the description is optional)."""
    name, _, description = text.partition(":")
    try:
        return ContentPillar(name=name.strip(), description=description.strip())
    except pydantic.ValidationError as error:
        raise CliError(f"--pillar {text!r}: {describe_validation(error)}") from None


def build_voice(base: ProjectVoice | None, flags: VoiceFlags) -> ProjectVoice:
    voice = base or ProjectVoice()
    profile: dict[str, Any] = voice.profile.model_dump()
    given = {
        "description": flags.description,
        "formality": flags.formality,
        "emoji": flags.emoji,
        "person": flags.person,
        "hashtag_count": flags.hashtags,
    }
    profile.update({name: value for name, value in given.items() if value is not None})
    if any(not sample.strip() for sample in flags.samples):
        raise CliError("--sample must not be empty")
    pillars = [*voice.pillars, *(parse_pillar(text) for text in flags.pillars)]
    try:
        return ProjectVoice.model_validate(
            {
                "profile": profile,
                "samples": [*voice.samples, *flags.samples],
                "pillars": [pillar.model_dump() for pillar in pillars],
            }
        )
    except pydantic.ValidationError as error:
        raise CliError(f"invalid voice: {describe_validation(error)}") from None
