"""Any OpenAI-compatible Chat Completions endpoint: OpenAI, Azure OpenAI, vLLM, Ollama,
llama.cpp server, OpenRouter."""

from __future__ import annotations

from typing import Any

from scripe_api.providers.base import (
    GeneratedPost,
    GenerationContext,
    ProgressCallback,
    ProviderError,
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

LABEL = "The AI provider (openai)"
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens")


class OpenAIProvider(HttpProvider):
    name = "openai"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIProvider:
        return cls(
            CallConfig.from_settings(
                settings, base_url=settings.openai_base_url, api_key=settings.openai_api_key
            )
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._config.api_key is not None:
            headers["Authorization"] = f"Bearer {self._config.api_key.get_secret_value()}"
        return headers

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        config = self._config
        prompt = build_prompt(context)
        await progress(0.5, "Generating post")
        body = await post_json(
            f"{config.base_url}/chat/completions",
            label=LABEL,
            headers=self._headers(),
            payload={
                "model": config.model,
                "messages": [
                    {"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.user},
                ],
                "max_tokens": config.max_output_tokens,
                "temperature": config.temperature,
            },
            timeout_seconds=config.timeout_seconds,
            secret=config.api_key,
        )
        try:
            text = _completion_text(body)
        except ProviderError as error:
            error.usage = reported_usage(config, body, TOKEN_FIELDS)
            raise
        post = billed_post(config, LABEL, text, body, TOKEN_FIELDS)
        await progress(0.7, "Generating post")
        return post


def _completion_text(body: dict[str, Any]) -> str:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed(LABEL, "choices is missing")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise malformed(LABEL, "choices[0].message is missing")
    if choice.get("finish_reason") == "content_filter" or message.get("refusal"):
        raise content_rejected("The AI provider (openai) refused to write this post.")
    text = message.get("content")
    if not isinstance(text, str):
        raise malformed(LABEL, "choices[0].message.content is missing")
    return text
