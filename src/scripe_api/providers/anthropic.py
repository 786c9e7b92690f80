"""The Anthropic Messages API."""

from __future__ import annotations

from typing import Any

from scripe_api.providers.base import (
    GeneratedPost,
    GenerationContext,
    ProgressCallback,
    content_rejected,
)
from scripe_api.providers.prompt import build_prompt
from scripe_api.providers.transport import (
    CallConfig,
    HttpProvider,
    billed_post,
    malformed,
    post_json,
    reported_usage,
)
from scripe_api.settings import Settings

LABEL = "The AI provider (anthropic)"
TOKEN_FIELDS = ("input_tokens", "output_tokens")
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider(HttpProvider):
    name = "anthropic"

    @classmethod
    def from_settings(cls, settings: Settings) -> AnthropicProvider:
        return cls(
            CallConfig.from_settings(
                settings, base_url=settings.anthropic_base_url, api_key=settings.anthropic_api_key
            )
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if self._config.api_key is not None:
            headers["x-api-key"] = self._config.api_key.get_secret_value()
        return headers

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        config = self._config
        prompt = build_prompt(context)
        await progress(0.5, "Generating post")
        body = await post_json(
            f"{config.base_url}/v1/messages",
            label=LABEL,
            headers=self._headers(),
            payload={
                "model": config.model,
                "system": prompt.system,
                "messages": [{"role": "user", "content": prompt.user}],
                "max_tokens": config.max_output_tokens,
                "temperature": config.temperature,
            },
            timeout_seconds=config.timeout_seconds,
            secret=config.api_key,
        )
        if body.get("stop_reason") == "refusal":
            refused = content_rejected("The AI provider (anthropic) refused to write this post.")
            refused.usage = reported_usage(config, body, TOKEN_FIELDS)
            raise refused
        text = _message_text(body)
        post = billed_post(config, LABEL, text, body, TOKEN_FIELDS)
        await progress(0.7, "Generating post")
        return post


def _message_text(body: dict[str, Any]) -> str:
    blocks = body.get("content")
    if not isinstance(blocks, list):
        raise malformed(LABEL, "content is missing")
    texts = [
        block["text"]
        for block in blocks
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]
    if not texts:
        raise malformed(LABEL, "content has no text block")
    return "".join(texts)
