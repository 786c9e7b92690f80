"""Actual cost of a provider call: reported tokens × the model's price, rounded up to cents."""

from __future__ import annotations

import logging
import math
from decimal import Decimal

from scripe_api.settings import ModelPrice, Settings

logger = logging.getLogger(__name__)
TOKENS_PER_PRICE_UNIT = 1_000_000
_warned_models: set[str] = set()


class PriceTable:
    def __init__(self, prices: dict[str, ModelPrice], default: ModelPrice) -> None:
        self._prices = prices
        self._default = default

    @classmethod
    def from_settings(cls, settings: Settings) -> PriceTable:
        return cls(settings.provider_prices, settings.provider_default_price)

    def price_of(self, model: str) -> ModelPrice:
        price = self._prices.get(model)
        if price is not None:
            return price
        # Billing an unknown model at the default is deliberate (never free); say so once.
        if model not in _warned_models:
            _warned_models.add(model)
            logger.warning(
                "no price configured for model %r; billing it at the default price "
                "(%s¢ in / %s¢ out per million tokens); set SCRIPE_PROVIDER_PRICES",
                model,
                self._default.input_cents_per_mtok,
                self._default.output_cents_per_mtok,
            )
        return self._default

    def cost_cents(self, model: str, input_tokens: int, output_tokens: int) -> int:
        """Whole cents, rounded up; Decimal so 1M tokens at 15¢ is 15¢, not 16¢."""
        price = self.price_of(model)
        total = Decimal(input_tokens) * Decimal(str(price.input_cents_per_mtok)) + Decimal(
            output_tokens
        ) * Decimal(str(price.output_cents_per_mtok))
        return math.ceil(total / TOKENS_PER_PRICE_UNIT)
