"""The Anthropic provider against a loopback server speaking the Messages API."""

from __future__ import annotations

import logging

import pytest

from scripe_api.providers.anthropic import AnthropicProvider
from scripe_api.providers.base import ProviderError
from tests.providers.calls import API_KEY, CONTEXT, MODEL, call_config, generate
from tests.providers.fake_api import FakeApi, Reply, anthropic_message, api_error

REPLY = (
    "Title: Boring caching wins\n\nDeploys took 40 minutes. Now 4.\n\n"
    "What would you cache?\n\n#DevOps #Caching"
)


def provider(fake: FakeApi, **overrides: float) -> AnthropicProvider:
    return AnthropicProvider(call_config(fake.url, **overrides))


async def test_message_becomes_a_post_billed_at_the_rounded_up_cost(fake: FakeApi) -> None:
    fake.replies = [Reply.json(anthropic_message(REPLY, input_tokens=3000, output_tokens=1000))]
    post = await generate(provider(fake))
    assert post.title == "Boring caching wins"
    assert post.content.startswith("Deploys took 40 minutes. Now 4.")
    assert (post.usage.input_tokens, post.usage.output_tokens, post.usage.cost_cents) == (
        3000,
        1000,
        2,
    )


async def test_request_carries_headers_model_system_and_source(fake: FakeApi) -> None:
    fake.replies = [Reply.json(anthropic_message(REPLY))]
    await generate(provider(fake))
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.body["model"] == MODEL
    assert request.body["max_tokens"] == 900
    assert "direct, warm, no jargon" in request.body["system"]
    assert "<passage>\nOur CI runs on self-hosted runners.\n</passage>" in request.body["system"]
    [message] = request.body["messages"]
    assert message["role"] == "user"
    assert f"<source>\n{CONTEXT.source_text}\n</source>" in message["content"]


@pytest.mark.parametrize(
    ("reply", "code", "transient", "says"),
    [
        (Reply.json(api_error("rate_limit_error", "Slow"), 429, **{"retry-after": "30"}),
         "provider_rate_limited", True, "retry after 30 s"),
        (Reply.json(api_error("api_error", "Boom"), 500), "provider_error", True, "HTTP 500"),
        (Reply.json(api_error("overloaded_error", "Overloaded"), 529),
         "provider_error", True, "HTTP 529"),
        (Reply(body=b"<html>bad gateway</html>"), "provider_error", True, "malformed"),
        (Reply.json(anthropic_message("")), "provider_error", True, "no text"),
        (Reply.json(api_error("invalid_request_error", "model: not found"), 404),
         "provider_error", False, "model: not found"),
        (Reply.json(api_error("invalid_request_error", "prompt is too long"), 400),
         "provider_error", False, "HTTP 400"),
        (Reply.json(anthropic_message("", stop_reason="refusal")),
         "content_rejected", False, "refused"),
    ],
)  # fmt: skip
async def test_failures_map_to_transient_or_permanent_errors(
    fake: FakeApi, reply: Reply, code: str, transient: bool, says: str
) -> None:
    fake.replies = [reply]
    with pytest.raises(ProviderError) as raised:
        await generate(provider(fake))
    assert (raised.value.code, raised.value.transient) == (code, transient)
    assert says in raised.value.message


async def test_slow_answer_is_a_transient_timeout(fake: FakeApi) -> None:
    fake.replies = [Reply(hang=True)]
    with pytest.raises(ProviderError) as raised:
        await generate(provider(fake, timeout_seconds=0.3))
    assert (raised.value.code, raised.value.transient) == ("provider_timeout", True)


async def test_api_key_never_reaches_logs_or_errors(
    fake: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.replies = [
        Reply.json(anthropic_message(REPLY)),
        Reply.json(api_error("authentication_error", f"invalid x-api-key {API_KEY}"), 401),
    ]
    caplog.set_level(logging.DEBUG)
    await generate(provider(fake))
    with pytest.raises(ProviderError) as raised:
        await generate(provider(fake))
    assert raised.value.code == "provider_error"
    assert API_KEY not in f"{raised.value} {raised.value.message}"
    assert caplog.records
    assert API_KEY not in caplog.text
