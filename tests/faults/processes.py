"""The service as real OS processes: `scripe-api serve`, `scripe-api worker`, and a worker on the
scripted provider; their output goes to files a test can read (and scan for secrets)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripe_api.settings import Settings
from tests.workers_support import REPO_ROOT, settings_env, wait_for_exit

SERVING = re.compile(r"Serving on (http://\S+?)\.?$", re.MULTILINE)
# A fresh interpreter importing the whole app, on a busy 2-core machine.
START_WITHIN_SECONDS = 60.0
STOP_WITHIN_SECONDS = 20.0


@dataclass
class ServiceProcess:
    """A process of ours; stdout and stderr both go to `log_path`."""

    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)


def _environment(settings: Settings) -> dict[str, str]:
    env = settings_env(settings)
    # Lines reach the log file as they are written (the "Serving on" line is awaited).
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(
    settings: Settings, args: list[str], log_path: Path, extra_env: dict[str, str] | None = None
) -> ServiceProcess:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env={**_environment(settings), **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ServiceProcess(process, log_path)


async def stop(service: ServiceProcess) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time."""
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        try:
            await wait_for_exit(service.process, within=STOP_WITHIN_SECONDS)
        except AssertionError:
            service.kill()
    await wait_for_exit(service.process, within=STOP_WITHIN_SECONDS)


async def _wait_until_serving(service: ServiceProcess) -> str:
    deadline = time.monotonic() + START_WITHIN_SECONDS
    while not (match := SERVING.search(service.output())):
        code = service.process.poll()
        assert code is None, f"the API exited with {code}:\n{service.output()[-3000:]}"
        assert time.monotonic() < deadline, f"the API did not start:\n{service.output()[-3000:]}"
        await asyncio.sleep(0.05)
    return match.group(1)


@contextlib.asynccontextmanager
async def api_process(settings: Settings, log_path: Path) -> AsyncIterator[ServiceProcess]:
    """`scripe-api serve` (the production command) on a free loopback port."""
    service = spawn(
        settings, ["-m", "scripe_api.cli", "serve", "--host", "127.0.0.1", "--port", "0"], log_path
    )
    try:
        service.url = await _wait_until_serving(service)
        yield service
    finally:
        await stop(service)


@contextlib.asynccontextmanager
async def worker_process(
    settings: Settings,
    log_path: Path,
    *,
    scripted: bool = True,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[ServiceProcess]:
    """A worker process: on the scripted provider (marking its attempts, see
    tests/faults/worker_process.py), or `scripe-api worker` with the configured provider."""
    args = ["-m", "tests.faults.worker_process"] if scripted else ["-m", "scripe_api.cli", "worker"]
    service = spawn(settings, args, log_path, extra_env)
    try:
        yield service
    finally:
        await stop(service)


def client_of(service: ServiceProcess, **headers: str) -> httpx.AsyncClient:
    # A generous timeout: no test asserts speed, and an outage must not look like a hang.
    return httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30.0)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
