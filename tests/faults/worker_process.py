"""A real worker process on the scripted provider that marks, per process, the attempts it has
inside the provider call: `python -m tests.faults.worker_process`.

The set `faults:inflight:<pid>` holds `<jobId>:<attempt>` while that process's provider call
runs, so a test can SIGKILL a worker exactly when it is in the middle of jobs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import cast

from redis.asyncio import Redis

from scripe_api.providers.base import GeneratedPost, GenerationContext, ProgressCallback
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from tests.scripted_provider import ScriptedProvider
from workers.main import run_worker


def inflight_key(pid: int) -> str:
    return f"faults:inflight:{pid}"


class MarkingProvider(ScriptedProvider):
    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        redis: Redis = Redis.from_url(self._redis_url)
        key, member = inflight_key(os.getpid()), f"{context.job_id}:{context.attempt}"
        try:
            await cast(Awaitable[int], redis.sadd(key, member))
            try:
                return await super().generate(context, progress)
            finally:
                await cast(Awaitable[int], redis.srem(key, member))
        finally:
            await redis.aclose()


def main() -> None:
    settings = Settings()
    providers = ProviderRegistry(settings, live=MarkingProvider(settings.redis_url))
    asyncio.run(run_worker(settings, providers=providers))


if __name__ == "__main__":
    main()
