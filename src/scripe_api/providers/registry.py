"""Which provider runs a job: test keys always get the offline generator; live keys get the one
the settings choose. Tests register a scripted provider here — nowhere else."""

from __future__ import annotations

from scripe_api.providers.anthropic import AnthropicProvider
from scripe_api.providers.base import Provider
from scripe_api.providers.offline import OfflineProvider
from scripe_api.providers.openai import OpenAIProvider
from scripe_api.settings import Settings


class ProviderRegistry:
    def __init__(self, settings: Settings, *, live: Provider | None = None) -> None:
        self.offline: Provider = OfflineProvider(settings.offline_pace_seconds)
        self.live: Provider = live or self._from_settings(settings)

    def for_key_mode(self, key_mode: str) -> Provider:
        return self.offline if key_mode == "test" else self.live

    def _from_settings(self, settings: Settings) -> Provider:
        if settings.generator_provider == "openai":
            return OpenAIProvider.from_settings(settings)
        if settings.generator_provider == "anthropic":
            return AnthropicProvider.from_settings(settings)
        return self.offline
