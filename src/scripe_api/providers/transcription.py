"""Speech to text for audio and video sources (INGEST.md §2): any OpenAI-compatible
`/audio/transcriptions` endpoint (OpenAI's Whisper, Groq, a local whisper server).

- The file is sent as multipart/form-data (`model`, `response_format=verbose_json`, `file`),
  streamed from disk by httpx in 64 KiB reads with a known Content-Length, never whole in memory.
  Those reads run on the event loop: each is a short local-disk read.
- Cost = the duration the provider reports × SCRIPE_TRANSCRIPTION_CENTS_PER_MINUTE, rounded up
  to whole cents. A reply without a usable duration is billed one minute: never free.
- An empty (or blank) transcript is returned as `text == ""`, billed like any other: whether
  that fails the job (`unsupported_content`) is the caller's decision, not the provider's.
- Errors are mapped as transport.py maps them for chat: timeouts and connection failures →
  provider_timeout; 429 → provider_rate_limited; 5xx and a malformed body → transient
  provider_error; other 4xx → permanent provider_error. Messages never carry the API key.
  A file that cannot be read raises its OSError unchanged: that is no provider failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from scripe_api.providers.base import (
    ProviderError,
    Usage,
    provider_error,
    provider_timeout,
)
from scripe_api.providers.transport import _failure, malformed
from scripe_api.settings import Settings

logger = logging.getLogger(__name__)
LABEL = "The transcription provider"
SECONDS_PER_MINUTE = 60
# OpenAI tells the format by the file name's extension, not by the part's Content-Type, and
# stored uploads have no extension: the name sent is made from the content type.
EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/x-m4a": "m4a",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


@dataclass(frozen=True)
class Transcript:
    text: str
    # As the provider reported it; None when it did not say.
    duration_seconds: float | None
    cost_cents: int


class Transcriber(Protocol):
    # What the spend ledger records of its calls.
    name: str
    model: str

    async def transcribe(
        self, path: Path, content_type: str, *, timeout_seconds: float
    ) -> Transcript:
        """The speech in the file at `path`. Raise ProviderError on failure."""


def billed_cents(duration_seconds: float | None, cents_per_minute: float) -> int:
    """Whole cents, rounded up; one minute when the duration is unknown. Exact fractions of
    the decimal values, so 700 s at 0.6¢ a minute is 7¢ (float or Decimal division says 8¢)."""
    seconds = SECONDS_PER_MINUTE if duration_seconds is None else Fraction(str(duration_seconds))
    return math.ceil(seconds * Fraction(str(cents_per_minute)) / SECONDS_PER_MINUTE)


def file_name(path: Path, content_type: str) -> str:
    extension = EXTENSIONS.get(content_type.split(";")[0].strip().lower())
    return f"recording.{extension}" if extension else path.name


class OpenAITranscriber:
    name = "openai"

    def __init__(
        self, *, base_url: str, api_key: SecretStr | None, model: str, cents_per_minute: float
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.model = model
        self._cents_per_minute = cents_per_minute

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAITranscriber:
        """At SCRIPE_TRANSCRIPTION_BASE_URL with its own key when set, else at the OpenAI
        generator's URL with its key (the two keys never cross hosts)."""
        if settings.transcription_base_url is not None:
            base_url, api_key = settings.transcription_base_url, settings.transcription_api_key
        else:
            base_url, api_key = settings.openai_base_url, settings.openai_api_key
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=settings.transcription_model,
            cents_per_minute=settings.transcription_cents_per_minute,
        )

    def __repr__(self) -> str:
        return f"OpenAITranscriber(base_url={self._base_url!r}, model={self.model!r})"

    async def transcribe(
        self, path: Path, content_type: str, *, timeout_seconds: float
    ) -> Transcript:
        body = await self._post(path, content_type, timeout_seconds)
        duration = _duration(body)
        cost_cents = billed_cents(duration, self._cents_per_minute)
        text = body.get("text")
        if not isinstance(text, str):
            error = malformed(LABEL, "text is missing")
            # The provider still billed the audio it heard.
            error.usage = Usage(cost_cents=cost_cents) if duration is not None else None
            raise error
        return Transcript(text=text.strip(), duration_seconds=duration, cost_cents=cost_cents)

    async def _post(self, path: Path, content_type: str, timeout_seconds: float) -> dict[str, Any]:
        headers = {}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        file = await asyncio.to_thread(path.open, "rb")
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(
                    f"{self._base_url}/audio/transcriptions",
                    headers=headers,
                    data={"model": self.model, "response_format": "verbose_json"},
                    files={"file": (file_name(path, content_type), file, content_type)},
                )
        except (httpx.TimeoutException, httpx.ConnectError) as exc:
            logger.warning("%s call failed: %s", LABEL, type(exc).__name__)
            raise provider_timeout(
                f"{LABEL} did not answer in time ({type(exc).__name__})."
            ) from None
        except httpx.HTTPError as exc:
            logger.warning("%s call failed: %s", LABEL, type(exc).__name__)
            raise provider_error(
                f"{LABEL} connection failed ({type(exc).__name__}).", transient=True
            ) from None
        finally:
            file.close()
        return _json_object(response, self._api_key)


def _json_object(response: httpx.Response, secret: SecretStr | None) -> dict[str, Any]:
    if not response.is_success:
        failure: ProviderError = _failure(LABEL, response, secret)
        logger.warning("%s answered HTTP %d (%s)", LABEL, response.status_code, failure.code)
        raise failure
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise malformed(LABEL, "the body is not a JSON object")
    return body


def _duration(body: dict[str, Any]) -> float | None:
    """`duration` of a verbose_json reply, None when missing or not a non-negative number."""
    value = body.get("duration")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)
