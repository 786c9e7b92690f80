"""One HTTP call to an AI provider, with the error mapping of GENERATION.md.

Timeouts and connection failures → provider_timeout; 429 → provider_rate_limited (the
retry-after value kept in the message); 5xx → provider_error, transient; other 4xx →
provider_error, permanent (content_rejected when the body names a content policy); a body that
is not a JSON object → provider_error, transient. Messages never carry the API key: provider text
is shortened and scrubbed of it, and nothing here logs headers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from scripe_api.providers.base import (
    GeneratedPost,
    ProviderError,
    Usage,
    content_rejected,
    provider_error,
    provider_rate_limited,
    provider_timeout,
)
from scripe_api.providers.pricing import PriceTable
from scripe_api.providers.prompt import parse_reply
from scripe_api.settings import Settings

logger = logging.getLogger(__name__)
MAX_DETAIL_CHARS = 200
# Error codes OpenAI-compatible servers (OpenAI, Azure) use for a content-policy refusal.
POLICY_CODES = frozenset({"content_filter", "content_policy_violation"})


def scrub(text: str, secret: SecretStr | None) -> str:
    """`text` shortened, with the API key (if any) cut out."""
    if secret is not None and (value := secret.get_secret_value()):
        text = text.replace(value, "[redacted]")
    text = " ".join(text.split())
    return text[:MAX_DETAIL_CHARS]


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of a provider's error body, both possibly empty."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or ""), str(error.get("message") or "")
    return "", response.text


def _failure(label: str, response: httpx.Response, secret: SecretStr | None) -> ProviderError:
    status = response.status_code
    code, message = _error_detail(response)
    detail = scrub(message, secret)
    suffix = f": {detail}" if detail else "."
    if status == 429:
        retry_after = scrub(response.headers.get("retry-after", ""), secret)[:40]
        wait = f" (retry after {retry_after} s)" if retry_after else ""
        return provider_rate_limited(f"{label} rate-limited us{wait}{suffix}")
    if status >= 500:
        return provider_error(f"{label} failed with HTTP {status}{suffix}", transient=True)
    if code in POLICY_CODES:
        return content_rejected(f"{label} refused the content{suffix}")
    return provider_error(
        f"{label} rejected the request with HTTP {status}{suffix}", transient=False
    )


async def post_json(
    url: str,
    *,
    label: str,
    headers: dict[str, str],
    payload: dict[str, Any],
    timeout_seconds: float,
    secret: SecretStr | None,
) -> dict[str, Any]:
    """POST `payload` and return the JSON object answered with a 2xx, or raise ProviderError."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, headers=headers, json=payload)
    except (httpx.TimeoutException, httpx.ConnectError) as exc:
        logger.warning("%s call failed: %s", label, type(exc).__name__)
        raise provider_timeout(f"{label} did not answer in time ({type(exc).__name__}).") from None
    except httpx.HTTPError as exc:
        logger.warning("%s call failed: %s", label, type(exc).__name__)
        raise provider_error(
            f"{label} connection failed ({type(exc).__name__}).", transient=True
        ) from None
    if not response.is_success:
        failure = _failure(label, response, secret)
        logger.warning("%s answered HTTP %d (%s)", label, response.status_code, failure.code)
        raise failure
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise malformed(label, "the body is not a JSON object")
    return body


def malformed(label: str, what: str) -> ProviderError:
    return provider_error(f"{label} sent a malformed answer: {what}.", transient=True)


@dataclass(frozen=True)
class CallConfig:
    """What an AI provider needs to make its call and price it."""

    base_url: str
    api_key: SecretStr | None
    model: str
    timeout_seconds: float
    max_output_tokens: int
    temperature: float
    prices: PriceTable

    @classmethod
    def from_settings(
        cls, settings: Settings, *, base_url: str, api_key: SecretStr | None
    ) -> CallConfig:
        if not settings.generator_model:
            raise ValueError("SCRIPE_GENERATOR_MODEL is required for an AI provider")
        return cls(
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            model=settings.generator_model,
            timeout_seconds=settings.provider_timeout_seconds,
            max_output_tokens=settings.provider_max_output_tokens,
            temperature=settings.provider_temperature,
            prices=PriceTable.from_settings(settings),
        )

    def __repr__(self) -> str:
        # SecretStr already masks itself; the explicit repr keeps it that way if that changes.
        return f"CallConfig(base_url={self.base_url!r}, model={self.model!r})"


class HttpProvider:
    """What the AI providers over HTTP share: their call configuration and model."""

    is_ai = True

    def __init__(self, config: CallConfig) -> None:
        self._config = config
        self.model: str | None = config.model


def token_count(usage: dict[str, Any], field: str, label: str) -> int:
    value = usage.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise malformed(label, f"usage.{field} is missing")
    return value


def reported_usage(
    config: CallConfig, body: dict[str, Any], token_fields: tuple[str, str]
) -> Usage | None:
    """What a reply says it billed, or None when it does not say (for a failed call)."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    counts = [usage.get(field) for field in token_fields]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return None
    input_tokens, output_tokens = int(counts[0]), int(counts[1])  # type: ignore[arg-type]
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_cents=config.prices.cost_cents(config.model, input_tokens, output_tokens),
    )


def billed_post(
    config: CallConfig, label: str, text: str, body: dict[str, Any], token_fields: tuple[str, str]
) -> GeneratedPost:
    """The reply as a post, billed from the reply's `usage` (input, output token fields);
    a reply without usage or text is malformed (transient), so no call goes unbilled."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        raise malformed(label, "usage is missing")
    input_tokens = token_count(usage, token_fields[0], label)
    output_tokens = token_count(usage, token_fields[1], label)
    title, content = parse_reply(text)
    if not content:
        raise malformed(label, "the post is empty")
    return GeneratedPost(
        title=title,
        content=content,
        usage=Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_cents=config.prices.cost_cents(config.model, input_tokens, output_tokens),
        ),
    )
