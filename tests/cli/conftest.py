"""Drive `scripe-api` as a subprocess, configured like an operator would: SCRIPE_* variables."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripe_api.settings import Settings
from tests.conftest import TEST_SECRET

KEY_PATTERN = re.compile(r"scripe_sk_(?:live|test)_[0-9a-f]{40}")
COMMAND_TIMEOUT_SECONDS = 60


def id_in(text: str, prefix: str) -> str:
    match = re.search(rf"\b{prefix}_[0-9A-Z]{{26}}\b", text)
    assert match, f"no {prefix}_ id in {text!r}"
    return match.group(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """The test process's environment without any SCRIPE_* configuration of its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCRIPE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scripe_api.cli", *args]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def assert_ok(self) -> CliResult:
        assert self.code == 0, f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        return self

    def assert_one_line_error(self, *fragments: str) -> None:
        """Exit 1 and exactly one readable line on stderr, never a traceback."""
        assert self.code == 1, f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("error: "), lines[0]
        assert "Traceback" not in self.stderr
        for fragment in fragments:
            assert fragment in lines[0], lines[0]


class Cli:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    async def __call__(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        process = await asyncio.create_subprocess_exec(
            *cli_command(*args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env if env is not None else self.env,
            cwd=self.cwd,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_SECONDS)
        assert process.returncode is not None
        return CliResult(process.returncode, stdout.decode(), stderr.decode())

    async def assert_each_fails(
        self, cases: Sequence[tuple[Sequence[str], str]], env: dict[str, str] | None = None
    ) -> list[CliResult]:
        """Run independent invocations at once; each fails in one line naming its fragment."""
        results = await asyncio.gather(*(self(*args, env=env) for args, _ in cases))
        for (_, fragment), result in zip(cases, results, strict=True):
            result.assert_one_line_error(fragment)
        return list(results)


def read_output(path: Path) -> str:
    return path.read_text()


async def wait_for_text(
    process: asyncio.subprocess.Process, output: Path, text: str, within: float = 60
) -> str:
    """Poll a long-lived command's output file (with a deadline) until `text` appears."""
    deadline = time.monotonic() + within
    while text not in (content := read_output(output)):
        assert process.returncode is None, f"exited early:\n{content}"
        assert time.monotonic() < deadline, f"{text!r} not printed in time:\n{content}"
        await asyncio.sleep(0.05)
    return content


def operator_environment(settings: Settings) -> dict[str, str]:
    return {
        **clean_environment(),
        "SCRIPE_DATABASE_URL": settings.database_url,
        "SCRIPE_REDIS_URL": settings.redis_url,
        "SCRIPE_SECRET_KEYS": json.dumps({"1": TEST_SECRET}),
    }


@pytest.fixture
def cli(base_settings: Settings, migrated: None, tmp_path: Path) -> Cli:
    """The CLI pointed at the test database with the test secret (keys work in `client`)."""
    return Cli(operator_environment(base_settings), tmp_path)
