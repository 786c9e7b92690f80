"""The OpenAI-compatible provider against a loopback server speaking Chat Completions."""

from __future__ import annotations

import logging
import socket

import pytest

from scripe_api.providers.base import ProviderError
from scripe_api.providers.openai import OpenAIProvider
from tests.providers.calls import API_KEY, CONTEXT, MODEL, call_config, generate
from tests.providers.fake_api import FakeApi, Reply, api_error, openai_completion

REPLY = (
    "Title: Deploys in 4 minutes\n\nWe cut deploys from 40 minutes to 4.\n\n"
    "Caching did it.\n\n#Engineering #Caching"
)


def provider(fake: FakeApi, **overrides: float) -> OpenAIProvider:
    return OpenAIProvider(call_config(f"{fake.url}/v1", **overrides))


async def test_completion_becomes_a_post_billed_at_the_rounded_up_cost(fake: FakeApi) -> None:
    fake.replies = [
        Reply.json(openai_completion(REPLY, prompt_tokens=3000, completion_tokens=1000))
    ]
    post = await generate(provider(fake))
    assert post.title == "Deploys in 4 minutes"
    assert post.content.startswith("We cut deploys from 40 minutes to 4.")
    assert post.content.endswith("#Engineering #Caching")
    assert (post.usage.input_tokens, post.usage.output_tokens) == (3000, 1000)
    assert post.usage.cost_cents == 2  # 0.75¢ + 1¢, rounded up


async def test_request_carries_key_model_and_prompt(fake: FakeApi) -> None:
    fake.replies = [Reply.json(openai_completion(REPLY))]
    await generate(provider(fake))
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert request.body["max_tokens"] == 900
    assert request.body["temperature"] == 0.5
    system, user = request.body["messages"]
    assert system["role"] == "system"
    assert "direct, warm, no jargon" in system["content"]
    assert "Engineering culture" in system["content"]
    assert user["role"] == "user"
    assert f"<source>\n{CONTEXT.source_text}\n</source>" in user["content"]


@pytest.mark.parametrize(
    ("reply", "code", "transient", "says"),
    [
        (Reply.json(api_error("rate_limit", "Slow down"), 429, **{"retry-after": "17"}),
         "provider_rate_limited", True, "retry after 17 s"),
        (Reply.json(api_error("server_error", "Boom"), 500), "provider_error", True, "HTTP 500"),
        (Reply.json(api_error("overloaded", "Busy"), 503), "provider_error", True, "HTTP 503"),
        (Reply(body=b'{"choices": [ oops'), "provider_error", True, "malformed"),
        (Reply.json({"choices": []}), "provider_error", True, "malformed"),
        (Reply.json({k: v for k, v in openai_completion("x").items() if k != "usage"}),
         "provider_error", True, "usage"),
        (Reply.json(api_error("invalid_request_error", "max_tokens too large"), 400),
         "provider_error", False, "max_tokens too large"),
        (Reply.json(api_error("invalid_request_error", "Bad", "content_policy_violation"), 400),
         "content_rejected", False, "refused"),
        (Reply.json(openai_completion("", finish_reason="content_filter")),
         "content_rejected", False, "refused"),
        (Reply.json(openai_completion("", refusal="I can't help with that.")),
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


async def test_unreachable_server_is_a_transient_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderError) as raised:
        await generate(OpenAIProvider(call_config(f"http://127.0.0.1:{port}/v1")))
    assert (raised.value.code, raised.value.transient) == ("provider_timeout", True)


async def test_api_key_never_reaches_logs_or_errors(
    fake: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    # A provider that echoes the key back (as some 401 bodies do) must not leak it either.
    fake.replies = [
        Reply.json(openai_completion(REPLY)),
        Reply.json(api_error("invalid_api_key", f"Incorrect API key provided: {API_KEY}"), 401),
        Reply.json(api_error("server_error", f"upstream said {API_KEY}"), 502),
    ]
    caplog.set_level(logging.DEBUG)
    messages = []
    await generate(provider(fake))
    for _ in range(2):
        with pytest.raises(ProviderError) as raised:
            await generate(provider(fake))
        messages.append(f"{raised.value} {raised.value.message!r}")
    assert "[redacted]" in messages[0]
    assert API_KEY not in " ".join(messages)
    assert caplog.records
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(provider(fake).__dict__)
