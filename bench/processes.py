"""The processes a run starts (API, worker, floor app, the `scripe-api` CLI): start, wait, stop,
memory and CPU."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.options import ROOT

# Limits no benchmark reaches: neither 429 nor 402 is measured (ENTERPRISE has no spend cap).
UNLIMITED_RATES = {"read": 100_000_000, "write": 100_000_000, "ai": 100_000_000}


@dataclass
class Proc:
    """A child process with its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds the process has used so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return float("nan"), float("nan")
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def service_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """The service in production mode, with rate limits out of reach and the offline provider."""
    return {
        **os.environ,
        "SCRIPE_ENV": "production",
        "SCRIPE_DATABASE_URL": database_url,
        "SCRIPE_REDIS_URL": redis_url,
        "SCRIPE_SECRET_KEYS": json.dumps({"1": secrets.token_urlsafe(48)}),
        "SCRIPE_RATE_LIMITS": json.dumps(UNLIMITED_RATES),
        "SCRIPE_HOST": "127.0.0.1",
        "SCRIPE_PORT": str(port),
        "SCRIPE_GENERATOR_PROVIDER": "offline",
        "PYTHONUNBUFFERED": "1",
    }


class Services:
    """Starts the processes of a run with one environment, and stops them all at the end."""

    def __init__(self, workdir: Path, base_url: str, experiments: str) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.experiments = experiments
        self.env: dict[str, str] = {}
        self.procs: list[Proc] = []

    def cli(self, *args: str) -> str:
        command = [str(Path(sys.executable).with_name("scripe-api")), *args]
        done = subprocess.run(  # noqa: S603
            command, env=self.env, capture_output=True, text=True, check=False, cwd=ROOT
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripe-api {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def spawn(self, name: str, command: Sequence[str]) -> Proc:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        process = subprocess.Popen(  # noqa: S603
            list(command), env=self.env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        )
        handle.close()
        proc = Proc(name, process, log)
        self.procs.append(proc)
        return proc

    def wait_http(self, proc: Proc, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            try:
                if httpx.get(self.base_url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{proc.name} did not answer {path} in {timeout:.0f} s:\n{proc.tail()}")

    def service_command(self, command: str, experiments: str | None = None) -> list[str]:
        experiments = self.experiments if experiments is None else experiments
        if experiments:
            return [sys.executable, "-m", "bench.experiments", experiments, "--", command]
        return [str(Path(sys.executable).with_name("scripe-api")), command]

    def start_api(self, experiments: str | None = None) -> Proc:
        api = self.spawn("api", self.service_command("serve", experiments))
        self.wait_http(api, "/livez")
        return api

    def start_worker(self) -> Proc:
        worker = self.spawn("worker", self.service_command("worker"))
        deadline = time.monotonic() + 60
        while "Worker running" not in worker.tail(50):
            if not worker.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{worker.tail()}")
            time.sleep(0.2)
        return worker

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, every core (user, nice, system, irq,
    softirq, steal): what a case costs the machine, load generator and servers included."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _tick()


def named_cpu_seconds(*names: str) -> float:
    """CPU seconds used so far by the running processes called `names` (`postgres`,
    `redis-server`), with those of their children they reaped (Postgres backends that ended)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] not in names:
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])
    return total / _tick()
