"""Which provider runs a job: test keys always get the offline generator; live keys get the one
the settings choose. Tests register a scripted provider here — nowhere else.

Transcription (audio and video sources) follows the generator: none for test keys or the
offline generator; the `openai` generator's endpoint (or SCRIPE_TRANSCRIPTION_BASE_URL when set);
none for `anthropic`, which has no transcription API, unless SCRIPE_TRANSCRIPTION_BASE_URL is set.
A registered transcriber serves live keys whatever the settings."""

from __future__ import annotations

from scripe_api.providers.anthropic import AnthropicProvider
from scripe_api.providers.base import Provider
from scripe_api.providers.offline import OfflineProvider
from scripe_api.providers.openai import OpenAIProvider
from scripe_api.providers.transcription import OpenAITranscriber, Transcriber
from scripe_api.settings import Settings


class ProviderRegistry:
    def __init__(
        self,
        settings: Settings,
        *,
        live: Provider | None = None,
        transcriber: Transcriber | None = None,
    ) -> None:
        self.offline: Provider = OfflineProvider(settings.offline_pace_seconds)
        self.live: Provider = live or self._from_settings(settings)
        self.transcriber: Transcriber | None = (
            transcriber if transcriber is not None else _transcriber_from_settings(settings)
        )

    def for_key_mode(self, key_mode: str) -> Provider:
        return self.offline if key_mode == "test" else self.live

    def transcriber_for(self, key_mode: str) -> Transcriber | None:
        """None: no transcription (the job fails with `transcription_unavailable`)."""
        return None if key_mode == "test" else self.transcriber

    def _from_settings(self, settings: Settings) -> Provider:
        if settings.generator_provider == "openai":
            return OpenAIProvider.from_settings(settings)
        if settings.generator_provider == "anthropic":
            return AnthropicProvider.from_settings(settings)
        return self.offline


def _transcriber_from_settings(settings: Settings) -> Transcriber | None:
    if settings.generator_provider == "offline":
        return None
    if settings.generator_provider == "openai" or settings.transcription_base_url is not None:
        return OpenAITranscriber.from_settings(settings)
    return None
