"""The provider interface: one async call from an assembled generation context to a post."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from scripe_api.jobs.errors import JobFailure

ProgressCallback = Callable[[float, str], Awaitable[None]]

LENGTH_BANDS: dict[str, tuple[int, int]] = {
    "short": (400, 700),
    "medium": (700, 1300),
    "long": (1300, 2500),
}
LINKEDIN_MAX_CHARS = 3000


@dataclass(frozen=True)
class GenerationContext:
    """Everything a generator sees: the project's voice and the request."""

    source_text: str
    profile: dict[str, Any]
    samples: list[str]
    pillars: list[dict[str, str]]
    knowledge: list[str] = field(default_factory=list)
    language: str | None = None
    content_type: str | None = None
    length: Literal["short", "medium", "long"] = "medium"
    # Which attempt this is (1-based): lets a provider (or a scripted test provider) know.
    attempt: int = 1
    job_id: str = ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_cents: int = 0


@dataclass(frozen=True)
class GeneratedPost:
    title: str
    content: str
    usage: Usage = field(default_factory=Usage)


class ProviderError(JobFailure):
    """A provider failure. Timeouts, 429 and 5xx are transient (retried by the job machinery);
    400-class errors and refusals are permanent. `usage` is what the provider billed for the
    failed call, when it said (a refusal is still billed); the spend ledger records it."""

    def __init__(
        self, code: str, message: str, *, transient: bool, usage: Usage | None = None
    ) -> None:
        super().__init__(code, message, transient=transient)
        self.usage = usage


def provider_timeout(message: str = "The AI provider timed out.") -> ProviderError:
    return ProviderError("provider_timeout", message, transient=True)


def provider_rate_limited(message: str = "The AI provider rate-limited us.") -> ProviderError:
    return ProviderError("provider_rate_limited", message, transient=True)


def provider_error(message: str, *, transient: bool) -> ProviderError:
    return ProviderError("provider_error", message, transient=transient)


def content_rejected(message: str = "The AI provider refused the content.") -> ProviderError:
    return ProviderError("content_rejected", message, transient=False)


class Provider(Protocol):
    name: str
    model: str | None
    is_ai: bool

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        """Write the post. Raise ProviderError on failure."""
