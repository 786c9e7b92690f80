"""Dependency checks with latency. Each check has its own short timeout and never raises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from scripe_api.db.migrations import current_revision, head_revision
from scripe_api.health import repository
from scripe_api.health.schemas import (
    DependencyCheck,
    GeneratorInfo,
    HealthChecks,
    HealthRead,
    QueueCheck,
)
from scripe_api.jobs.queue import waiting_depth
from scripe_api.observability.metrics import QUEUE_DEPTH
from scripe_api.resources import Resources

T = TypeVar("T")

CHECK_TIMEOUT_SECONDS = 2.0


async def _timed(awaitable: Awaitable[T]) -> tuple[T | None, DependencyCheck]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(awaitable, CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure is a failed check, never a failed request
        # A stable word for clients, never the exception's class or text (internal names).
        kind = "timeout" if isinstance(error, TimeoutError) else "unreachable"
        return None, DependencyCheck(ok=False, latency_ms=_elapsed_ms(started), error=kind)
    return result, DependencyCheck(ok=True, latency_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def sample_queue_depth(resources: Resources) -> int | None:
    """Queue entries waiting for a worker, also set on the `scripe_queue_depth` gauge; None when
    unknown."""
    value, check = await _timed(waiting_depth(resources.redis))
    if not check.ok or value is None:
        return None
    QUEUE_DEPTH.set(int(value))
    return int(value)


async def check_health(resources: Resources, version: str) -> HealthRead:
    (_, db), (_, redis) = await asyncio.gather(
        _timed(repository.probe(resources.database)), _timed(resources.redis.ping())
    )
    depth = await sample_queue_depth(resources) if redis.ok else None
    settings = resources.settings
    return HealthRead(
        status="ok" if db.ok and redis.ok else "degraded",
        version=version,
        generator=GeneratorInfo(
            provider=settings.generator_provider,
            model=settings.generator_model if settings.generator_provider != "offline" else None,
            is_ai=settings.generator_provider != "offline",
        ),
        checks=HealthChecks(
            db=db, redis=redis, queue=QueueCheck(ok=depth is not None, depth=depth)
        ),
    )


async def readiness(resources: Resources) -> str | None:
    """None when ready; otherwise why not. Redis being down does not make a replica unready."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with resources.engine.connect() as connection:
                revision = await connection.run_sync(current_revision)
    except Exception as error:
        return f"database unreachable ({type(error).__name__})"
    if revision != head_revision():
        return f"database at migration {revision}, expected {head_revision()}"
    return None
