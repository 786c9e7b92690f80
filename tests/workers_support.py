"""Workers for tests: in process (a task in the test's loop) or as a real OS process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator

from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from tests.scripted_provider import ScriptedProvider
from workers.main import create_worker

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    """An arq worker with the scripted provider for live keys, in this event loop."""
    providers = ProviderRegistry(settings, live=ScriptedProvider(settings.redis_url))
    worker = create_worker(settings, providers=providers, handle_signals=False)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_until(stop, settings.worker_shutdown_grace_seconds))
    try:
        yield
    finally:
        stop.set()
        await task


def settings_env(settings: Settings) -> dict[str, str]:
    """The SCRIPE_* environment that reproduces `settings` in another process."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            import json

            if name == "secret_keys":
                value = {k: settings.secret_keys[int(k)].get_secret_value() for k in value}
            env[f"SCRIPE_{name.upper()}"] = json.dumps(value)
        else:
            env[f"SCRIPE_{name.upper()}"] = str(value)
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
