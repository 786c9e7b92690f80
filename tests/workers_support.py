"""Workers for tests: in process (a task in the test's loop) or as a real OS process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Job, WebhookEndpoint
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from tests.scripted_provider import ScriptedProvider
from workers.context import build_deps
from workers.main import create_worker

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scripted_providers(settings: Settings) -> ProviderRegistry:
    """Live keys run on the scripted provider; test keys keep the offline generator."""
    return ProviderRegistry(settings, live=ScriptedProvider(settings.redis_url))


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    """An arq worker with the scripted provider for live keys, in this event loop."""
    worker = create_worker(settings, providers=scripted_providers(settings), handle_signals=False)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_until(stop, settings.worker_shutdown_grace_seconds))
    try:
        yield
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def worker_deps(settings: Settings) -> AsyncIterator[WorkerDeps]:
    """What a worker holds, without arq: for driving `run_attempt` and `sweep` by hand."""
    deps = build_deps(settings, scripted_providers(settings))
    try:
        yield deps
    finally:
        await deps.resources.close()


async def settle_unfinished_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """End every job a test left QUEUED or RUNNING, so no later test's sweep picks it up, and
    drop its webhook endpoints (with their pending deliveries).

    The database is shared by the whole session and the sweep is service-wide by design.
    """
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.status.in_(("QUEUED", "RUNNING")))
            .values(
                status="FAILED",
                error_code="internal_error",
                error_message="Left unfinished by a test.",
                lease_expires_at=None,
            )
        )
        # Nor any webhook delivery: a test's receivers are gone with it.
        await session.execute(delete(WebhookEndpoint))


def settings_env(settings: Settings) -> dict[str, str]:
    """The SCRIPE_* environment that reproduces `settings` in another process."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if name == "secret_keys":
            value = {
                version: secret.get_secret_value()
                for version, secret in settings.secret_keys.items()
            }
        env[f"SCRIPE_{name.upper()}"] = (
            json.dumps(value) if isinstance(value, dict | list) else str(value)
        )
    return env


def start_worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    """A real worker process (python -m tests.worker_process) with the scripted provider."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker_process"],
        cwd=REPO_ROOT,
        env=settings_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_for_exit(process: subprocess.Popen[bytes], *, within: float) -> int:
    """The process's exit code, once it has exited (fails after `within` seconds)."""
    deadline = time.monotonic() + within
    while (code := process.poll()) is None:
        assert time.monotonic() < deadline, f"worker process {process.pid} did not exit"
        await asyncio.sleep(0.02)
    return code


@contextlib.asynccontextmanager
async def worker_process(settings: Settings) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A real worker process, killed (if still alive) when the block ends."""
    process = start_worker_process(settings)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        await wait_for_exit(process, within=10)
