"""Driving a provider against the fake API, the way the worker does."""

from __future__ import annotations

from pydantic import SecretStr

from scripe_api.providers.base import GeneratedPost, GenerationContext, Provider
from scripe_api.providers.pricing import PriceTable
from scripe_api.providers.transport import CallConfig
from scripe_api.settings import ModelPrice

API_KEY = "sk-fake-0123456789abcdefSECRET"
MODEL = "fake-model"
# 3 000 input and 1 000 output tokens at these prices cost 0.75¢ + 1¢ = 1.75¢, billed 2¢.
PRICES = {MODEL: ModelPrice(input_cents_per_mtok=250, output_cents_per_mtok=1000)}
DEFAULT_PRICE = ModelPrice(input_cents_per_mtok=300, output_cents_per_mtok=1500)

CONTEXT = GenerationContext(
    source_text="We cut our deploy time from 40 minutes to 4. The trick was boring: caching.",
    profile={"description": "direct, warm, no jargon", "hashtagCount": 2, "emoji": "none"},
    samples=["Shipping beats polishing.\n\nWe learned that the hard way."],
    pillars=[{"name": "Engineering culture", "description": "How teams ship and deploy"}],
    knowledge=["Our CI runs on self-hosted runners."],
    language="en",
    content_type="STORY",
)


def call_config(base_url: str, *, timeout_seconds: float = 5.0) -> CallConfig:
    return CallConfig(
        base_url=base_url,
        api_key=SecretStr(API_KEY),
        model=MODEL,
        timeout_seconds=timeout_seconds,
        max_output_tokens=900,
        temperature=0.5,
        prices=PriceTable(PRICES, DEFAULT_PRICE),
    )


async def generate(provider: Provider, context: GenerationContext = CONTEXT) -> GeneratedPost:
    async def progress(fraction: float, message: str) -> None:
        return None

    return await provider.generate(context, progress)
