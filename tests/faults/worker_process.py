"""A real worker process on the scripted provider that marks, per process, the attempts it has
inside the provider call: `python -m tests.faults.worker_process`.

The set `faults:inflight:<pid>` holds `<jobId>:<attempt>` while that process's provider call
runs, so a test can SIGKILL a worker exactly when it is in the middle of jobs.

`FAULTS_DIE_ON_TAKE=2,3`: the process SIGKILLs itself as soon as it has taken attempt 2 or 3 of
a job off the queue, before claiming it — the crash that leaves arq's entry "in progress".
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from typing import cast

from redis.asyncio import Redis

from scripe_api.providers.base import GeneratedPost, GenerationContext, ProgressCallback
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from tests.scripted_provider import ScriptedProvider
from workers.jobs import run_job
from workers.main import run_worker

DIE_ON_TAKE = "FAULTS_DIE_ON_TAKE"


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


def _die_on_taking(attempts: set[int]) -> None:
    """Make this process die between arq taking an entry and our claim of that attempt."""
    claim = getattr(run_job, "run_attempt")  # noqa: B009 (the adapter's own name for it)

    async def die_or_claim(deps: object, job_id: str, attempt: int) -> str:
        if attempt in attempts:
            os.kill(os.getpid(), signal.SIGKILL)
        result: str = await claim(deps, job_id, attempt)
        return result

    setattr(run_job, "run_attempt", die_or_claim)  # noqa: B010


def main() -> None:
    if os.environ.get(DIE_ON_TAKE):
        _die_on_taking({int(value) for value in os.environ[DIE_ON_TAKE].split(",")})
    settings = Settings()
    providers = ProviderRegistry(settings, live=MarkingProvider(settings.redis_url))
    asyncio.run(run_worker(settings, providers=providers))


if __name__ == "__main__":
    main()
