"""Choosing and pricing a provider through settings; what /v1/health then reports."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from scripe_api.main import create_app
from scripe_api.providers.anthropic import AnthropicProvider
from scripe_api.providers.offline import OfflineProvider
from scripe_api.providers.openai import OpenAIProvider
from scripe_api.providers.pricing import PriceTable
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import ModelPrice, Settings
from tests.apps import serve
from tests.providers.calls import API_KEY, DEFAULT_PRICE, PRICES

BASE: dict[str, Any] = {"env": "dev", "secret_keys": {1: "a-dev-secret"}}


def settings_with(**values: Any) -> Settings:
    return Settings.model_validate({**BASE, **values})


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"generator_provider": "openai", "openai_api_key": API_KEY}, "SCRIPE_GENERATOR_MODEL"),
        ({"generator_provider": "openai", "generator_model": "gpt-4o"}, "SCRIPE_OPENAI_API_KEY"),
        (
            {"generator_provider": "anthropic", "generator_model": "claude-sonnet-4-5"},
            "SCRIPE_ANTHROPIC_API_KEY",
        ),
        (
            {"generator_provider": "anthropic", "generator_model": "m", "anthropic_api_key": " "},
            "SCRIPE_ANTHROPIC_API_KEY",
        ),
    ],
)
def test_an_ai_provider_without_model_or_key_is_refused(values: dict[str, Any], names: str) -> None:
    with pytest.raises(ValidationError, match=names) as raised:
        settings_with(**values)
    assert API_KEY not in str(raised.value)


def test_a_loopback_server_needs_no_key() -> None:
    settings = settings_with(
        generator_provider="openai",
        generator_model="llama3.1",
        openai_base_url="http://127.0.0.1:11434/v1",
    )
    provider = ProviderRegistry(settings).for_key_mode("live")
    assert isinstance(provider, OpenAIProvider)
    assert provider.model == "llama3.1"


def test_registry_builds_the_configured_provider_and_test_keys_stay_offline() -> None:
    openai = ProviderRegistry(
        settings_with(generator_provider="openai", generator_model="gpt-4o", openai_api_key="k")
    )
    anthropic = ProviderRegistry(
        settings_with(
            generator_provider="anthropic",
            generator_model="claude-sonnet-4-5",
            anthropic_api_key="k",
        )
    )
    assert isinstance(openai.for_key_mode("live"), OpenAIProvider)
    assert isinstance(anthropic.for_key_mode("live"), AnthropicProvider)
    assert isinstance(openai.for_key_mode("test"), OfflineProvider)
    assert isinstance(anthropic.for_key_mode("test"), OfflineProvider)
    assert isinstance(ProviderRegistry(settings_with()).for_key_mode("live"), OfflineProvider)


def test_prices_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPE_GENERATOR_PROVIDER", "openai")
    monkeypatch.setenv("SCRIPE_GENERATOR_MODEL", "my-model")
    monkeypatch.setenv("SCRIPE_OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv(
        "SCRIPE_PROVIDER_PRICES",
        '{"my-model": {"input_cents_per_mtok": 100, "output_cents_per_mtok": 400}}',
    )
    settings = Settings.model_validate(BASE)
    assert settings.provider_prices == {
        "my-model": ModelPrice(input_cents_per_mtok=100, output_cents_per_mtok=400)
    }
    assert API_KEY not in repr(settings)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == API_KEY


def test_cost_is_rounded_up_to_whole_cents_without_float_drift() -> None:
    prices = PriceTable(
        {**PRICES, "cheap": ModelPrice(input_cents_per_mtok=15, output_cents_per_mtok=60)},
        DEFAULT_PRICE,
    )
    assert prices.cost_cents("cheap", 1_000_000, 0) == 15
    assert prices.cost_cents("cheap", 1, 0) == 1
    assert prices.cost_cents("cheap", 0, 0) == 0
    assert prices.cost_cents("fake-model", 3000, 1000) == 2


def test_an_unknown_model_is_billed_at_the_default_price_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    prices = PriceTable(PRICES, DEFAULT_PRICE)
    caplog.set_level(logging.WARNING)
    # 300¢ and 1500¢ per million: 0.3¢ + 1.5¢ = 1.8¢, billed 2¢.
    assert prices.cost_cents("never-priced-model", 1000, 1000) == 2
    assert prices.cost_cents("never-priced-model", 1000, 1000) == 2
    warnings = [r for r in caplog.records if "never-priced-model" in r.getMessage()]
    assert len(warnings) == 1


async def test_health_names_the_ai_provider_and_model(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"generator_provider": "anthropic", "generator_model": "claude-sonnet-4-5"}
    )
    async with serve(create_app(configured)) as client:
        response = await client.get("/v1/health")
    assert response.json()["generator"] == {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "isAi": True,
    }
