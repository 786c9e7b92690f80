"""The OpenAI-compatible transcriber against a loopback server speaking `/audio/transcriptions`,
with a real WAV file; and which transcriber the registry hands out."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from scripe_api.providers.base import ProviderError
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.providers.transcription import (
    OpenAITranscriber,
    Transcript,
    billed_cents,
)
from scripe_api.settings import Settings
from tests.providers.calls import API_KEY
from tests.providers.fake_api import FakeApi, Reply, api_error

MODEL = "whisper-fake"
SAMPLE_RATE = 16_000
BASE: dict[str, Any] = {"env": "dev", "secret_keys": {1: "a-dev-secret"}}


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """One second of a 440 Hz tone, 16-bit mono, named like a stored upload (no extension)."""
    path = tmp_path / "upl_0123"
    frames = b"".join(
        struct.pack("<h", round(12_000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)))
        for i in range(SAMPLE_RATE)
    )
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(SAMPLE_RATE)
        file.writeframes(frames)
    return path


def transcriber(fake: FakeApi, *, api_key: str | None = API_KEY) -> OpenAITranscriber:
    return OpenAITranscriber(
        base_url=f"{fake.url}/v1/",
        api_key=SecretStr(api_key) if api_key is not None else None,
        model=MODEL,
        cents_per_minute=0.6,
    )


def verbose_json(text: str, duration: Any = 1.0) -> dict[str, Any]:
    """A verbose_json transcription, shaped like OpenAI's."""
    return {
        "task": "transcribe",
        "language": "english",
        "duration": duration,
        "text": text,
        "segments": [{"id": 0, "start": 0.0, "end": 1.0, "text": text}],
    }


async def transcribe(
    fake: FakeApi, path: Path, *, timeout_seconds: float = 5.0, api_key: str | None = API_KEY
) -> Transcript:
    return await transcriber(fake, api_key=api_key).transcribe(
        path, "audio/wav", timeout_seconds=timeout_seconds
    )


async def test_transcript_carries_text_duration_and_rounded_up_cost(
    fake: FakeApi, recording: Path
) -> None:
    fake.replies = [Reply.json(verbose_json(" Hello from the tone. ", duration=1.0))]
    transcript = await transcribe(fake, recording)
    # 1 s at 0.6¢ a minute is 0.01¢, billed 1¢.
    assert transcript == Transcript(text="Hello from the tone.", duration_seconds=1.0, cost_cents=1)


async def test_request_is_multipart_with_model_format_file_and_key(
    fake: FakeApi, recording: Path
) -> None:
    fake.replies = [Reply.json(verbose_json("Hello"))]
    await transcribe(fake, recording)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/audio/transcriptions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    # Sent with a known length (streamed from the file, not chunked).
    assert request.headers["content-length"] == str(len(request.raw))
    form = request.form()
    assert list(form) == ["model", "response_format", "file"]
    assert form["model"].content == MODEL.encode()
    assert form["response_format"].content == b"verbose_json"
    file = form["file"]
    # The provider reads the format from the extension: the name comes from the content type.
    assert 'filename="recording.wav"' in file.headers["content-disposition"]
    assert file.headers["content-type"] == "audio/wav"
    assert file.content == await asyncio.to_thread(recording.read_bytes)
    with wave.open(io.BytesIO(file.content)) as sent:
        assert (sent.getnchannels(), sent.getnframes()) == (1, SAMPLE_RATE)


async def test_without_a_key_no_authorization_is_sent(fake: FakeApi, recording: Path) -> None:
    fake.replies = [Reply.json(verbose_json("Hello"))]
    await transcribe(fake, recording, api_key=None)
    assert "authorization" not in fake.requests[0].headers


async def test_silence_is_an_empty_transcript_still_billed(fake: FakeApi, recording: Path) -> None:
    fake.replies = [Reply.json(verbose_json("  ", duration=1.0))]
    transcript = await transcribe(fake, recording)
    assert (transcript.text, transcript.cost_cents) == ("", 1)


@pytest.mark.parametrize("duration", [None, "1.0", -3, True])
async def test_an_unknown_duration_is_billed_one_minute(
    fake: FakeApi, recording: Path, duration: Any
) -> None:
    body = verbose_json("Hello", duration=duration)
    if duration is None:
        del body["duration"]
    fake.replies = [Reply.json(body)]
    transcript = await transcribe(fake, recording)
    assert (transcript.duration_seconds, transcript.cost_cents) == (None, 1)


@pytest.mark.parametrize(
    ("duration", "cents_per_minute", "cents"),
    [(0, 0.6, 0), (1, 0.6, 1), (600, 0.6, 6), (700, 0.6, 7), (6000, 0.6, 60), (125.5, 0.6, 2),
     (None, 0.6, 1), (None, 2.5, 3), (3600, 0, 0)],
)  # fmt: skip
def test_cost_is_the_duration_times_the_price_rounded_up_exactly(
    duration: float | None, cents_per_minute: float, cents: int
) -> None:
    assert billed_cents(duration, cents_per_minute) == cents


@pytest.mark.parametrize(
    ("reply", "code", "transient", "says"),
    [
        (Reply.json(api_error("rate_limit", "Slow down"), 429, **{"retry-after": "17"}),
         "provider_rate_limited", True, "retry after 17 s"),
        (Reply.json(api_error("server_error", "Boom"), 500), "provider_error", True, "HTTP 500"),
        (Reply.json(api_error("invalid_request_error", "Invalid file format."), 400),
         "provider_error", False, "Invalid file format."),
        (Reply(body=b'{"text": "Hel'), "provider_error", True, "malformed"),
        (Reply.json(["Hello"]), "provider_error", True, "not a JSON object"),
        (Reply.json({"duration": 1.0}), "provider_error", True, "text is missing"),
    ],
)  # fmt: skip
async def test_failures_map_to_transient_or_permanent_errors(
    fake: FakeApi, recording: Path, reply: Reply, code: str, transient: bool, says: str
) -> None:
    fake.replies = [reply]
    with pytest.raises(ProviderError) as raised:
        await transcribe(fake, recording)
    assert (raised.value.code, raised.value.transient) == (code, transient)
    assert says in raised.value.message


async def test_a_reply_without_text_still_reports_the_billed_audio(
    fake: FakeApi, recording: Path
) -> None:
    fake.replies = [Reply.json({"duration": 90.0})]
    with pytest.raises(ProviderError) as raised:
        await transcribe(fake, recording)
    assert raised.value.usage is not None
    assert raised.value.usage.cost_cents == 1


async def test_slow_answer_is_a_transient_timeout(fake: FakeApi, recording: Path) -> None:
    fake.replies = [Reply(hang=True)]
    with pytest.raises(ProviderError) as raised:
        await transcribe(fake, recording, timeout_seconds=0.3)
    assert (raised.value.code, raised.value.transient) == ("provider_timeout", True)


async def test_api_key_never_reaches_logs_or_errors(
    fake: FakeApi, recording: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.replies = [
        Reply.json(api_error("invalid_api_key", f"Incorrect API key provided: {API_KEY}"), 401),
        Reply.json(api_error("server_error", f"upstream said {API_KEY}"), 502),
    ]
    caplog.set_level(logging.DEBUG)
    messages = []
    for _ in range(2):
        with pytest.raises(ProviderError) as raised:
            await transcribe(fake, recording)
        messages.append(f"{raised.value} {raised.value.message!r}")
    assert "[redacted]" in messages[0]
    assert API_KEY not in " ".join(messages)
    assert caplog.records
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(transcriber(fake))


def settings_with(**values: Any) -> Settings:
    return Settings.model_validate({**BASE, **values})


OPENAI = {"generator_provider": "openai", "generator_model": "gpt-4o", "openai_api_key": "k"}
ANTHROPIC = {
    "generator_provider": "anthropic",
    "generator_model": "claude-sonnet-4-5",
    "anthropic_api_key": "k",
}


def test_test_keys_and_the_offline_generator_have_no_transcription() -> None:
    assert ProviderRegistry(settings_with(**OPENAI)).transcriber_for("test") is None
    assert ProviderRegistry(settings_with()).transcriber_for("live") is None
    offline_with_url = settings_with(transcription_base_url="http://127.0.0.1:9000/v1")
    assert ProviderRegistry(offline_with_url).transcriber_for("live") is None


def test_the_openai_generator_transcribes_at_its_own_endpoint() -> None:
    settings = settings_with(**OPENAI, openai_base_url="https://llm.example.com/v1")
    live = ProviderRegistry(settings).transcriber_for("live")
    assert isinstance(live, OpenAITranscriber)
    assert live.model == "whisper-1"
    assert "https://llm.example.com/v1" in repr(live)


def test_anthropic_transcribes_only_at_a_configured_url() -> None:
    assert ProviderRegistry(settings_with(**ANTHROPIC)).transcriber_for("live") is None
    settings = settings_with(
        **ANTHROPIC,
        transcription_base_url="https://stt.example.com/v1",
        transcription_api_key="stt-key",
        transcription_model="whisper-large-v3",
    )
    live = ProviderRegistry(settings).transcriber_for("live")
    assert isinstance(live, OpenAITranscriber)
    assert live.model == "whisper-large-v3"
    assert "https://stt.example.com/v1" in repr(live)


def test_a_transcription_url_needs_its_own_key_unless_loopback() -> None:
    with pytest.raises(ValidationError, match="SCRIPE_TRANSCRIPTION_API_KEY"):
        settings_with(**OPENAI, transcription_base_url="https://stt.example.com/v1")
    settings_with(**OPENAI, transcription_base_url="http://127.0.0.1:9000/v1")
    with pytest.raises(ValidationError, match="transcription_cents_per_minute"):
        settings_with(transcription_cents_per_minute=-1)


async def test_a_registered_transcriber_serves_live_keys(fake: FakeApi) -> None:
    registered = transcriber(fake)
    registry = ProviderRegistry(settings_with(), transcriber=registered)
    assert registry.transcriber_for("live") is registered
    assert registry.transcriber_for("test") is None
