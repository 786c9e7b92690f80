"""A scripted stand-in for an AI provider, registered only by the test suite.

The source text carries the script: `SCRIPT {"fail": ["provider_timeout"], "block": "k"}`.
- `fail`: error codes raised on attempts 1..n (transient per the code, like a real provider);
- `permanent`: an error code raised on every attempt as a permanent failure;
- `block`: wait until the Redis key `scripted:release:<k>` exists, so a test can act while the
  job is mid-run;
- `sleep_ms`: take this long;
- `cost_cents`: what the call reports it cost (default 1).
Every attempt first reports progress ("Generating post"), then marks
`scripted:started:<jobId>:<attempt>`, then follows its script.
The post it writes names the job and attempt and repeats the source (`scripted_content`).
It replaces no part of our own database or queue: only the third-party AI call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from scripe_api.providers.base import (
    GeneratedPost,
    GenerationContext,
    ProgressCallback,
    ProviderError,
    Usage,
)

TRANSIENT_CODES = frozenset({"provider_timeout", "provider_rate_limited", "provider_error"})


def script(**instructions: Any) -> str:
    return "SCRIPT " + json.dumps(instructions)


def started_key(job_id: str, attempt: int) -> str:
    return f"scripted:started:{job_id}:{attempt}"


def release_key(name: str) -> str:
    return f"scripted:release:{name}"


def scripted_content(context: GenerationContext) -> str:
    """What the scripted provider writes: which job and attempt, then the source it was given."""
    return (
        f"Scripted post for {context.job_id}.\n\nAttempt {context.attempt}.\n\n"
        f"Source: {context.source_text}"
    )


class ScriptedProvider:
    name = "scripted"
    model: str | None = "script-1"
    is_ai = True

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        instructions: dict[str, Any] = {}
        if context.source_text.startswith("SCRIPT "):
            instructions = json.loads(context.source_text.removeprefix("SCRIPT "))
        redis: Redis = Redis.from_url(self._redis_url)
        try:
            await progress(0.5, "Generating post")
            # Marked after the progress report: a test that sees the mark sees the report too.
            await redis.set(started_key(context.job_id, context.attempt), "1", ex=600)
            if context.attempt in instructions.get("database_down", []):
                # What asyncpg raises when Postgres refuses connections (an outage mid-attempt).
                raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
            failures: list[str] = instructions.get("fail", [])
            if context.attempt <= len(failures):
                code = failures[context.attempt - 1]
                raise ProviderError(code, f"scripted {code}", transient=code in TRANSIENT_CODES)
            if "permanent" in instructions:
                code = instructions["permanent"]
                raise ProviderError(code, f"scripted {code}", transient=False)
            if "block" in instructions:
                # Another process releases it: polling the key is the point.
                while not await redis.exists(release_key(instructions["block"])):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            if "sleep_ms" in instructions:
                await asyncio.sleep(instructions["sleep_ms"] / 1000)
        finally:
            await redis.aclose()
        return GeneratedPost(
            title="Scripted post",
            content=scripted_content(context),
            usage=Usage(
                input_tokens=100,
                output_tokens=50,
                cost_cents=instructions.get("cost_cents", 1),
            ),
        )
