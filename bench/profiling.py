"""py-spy sampling of a running process and a text summary of where its CPU time goes.

`Sampler(pid, out)` runs `py-spy record --format raw` (collapsed stacks, idle frames excluded, so
shares are of on-CPU time) until `stop()`; `summarize(out)` ranks functions by self time and by
inclusive time, and groups self time by package.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# "func (path/to/file.py:123)" — a frame in py-spy's raw (collapsed) output.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_PACKAGES = (
    "sqlalchemy",
    "asyncpg",
    "pydantic_core",
    "pydantic",
    "fastapi",
    "starlette",
    "uvicorn",
    "httptools",
    "redis",
    "arq",
    "prometheus_client",
    "orjson",
    "ulid",
    "scripe_api",
    "workers",
    "asyncio",
    "logging",
    "json",
)


# Frames on (nearly) every stack: the CLI, the event loop, the ASGI middleware chain. Left out of
# the inclusive ranking so that it shows the work itself.
PLUMBING = (
    "<module>",
    "typer",
    "click",
    "cli/",
    "asyncio/runners",
    "asyncio/base_events",
    "asyncio/events",
    "starlette/",
    "fastapi/routing",
    "fastapi/applications",
    "fastapi/_body_limit",
    "fastapi/telemetry",
    "fastapi/middleware",
    "uvicorn/",
    "api/middleware",
    "threading.py",
)


def py_spy_path() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else None


@dataclass
class Sampler:
    """A py-spy recording of one process while a case runs."""

    pid: int
    output: Path
    rate: int = 200
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        py_spy = py_spy_path()
        if py_spy is None:
            return False
        self.process = subprocess.Popen(  # noqa: S603
            [
                py_spy,
                "record",
                "--pid",
                str(self.pid),
                "--format",
                "raw",
                "--rate",
                str(self.rate),
                "--nonblocking",
                "--output",
                str(self.output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        # py-spy writes its output on SIGINT, as on Ctrl-C.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _package(path: str) -> str:
    parts = re.split(r"[/\\]", path)
    for name in _PACKAGES:
        if name in parts or f"{name}.py" in parts:
            return name
    if "site-packages" in parts:
        index = parts.index("site-packages")
        if index + 1 < len(parts):
            return parts[index + 1].removesuffix(".py")
    return "python stdlib" if "python3" in path else "other"


def _short(path: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3.11/", "lib/python3.12/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


@dataclass(frozen=True)
class Summary:
    samples: int
    top_self: list[tuple[str, float]]
    top_inclusive: list[tuple[str, float]]
    by_package: list[tuple[str, float]]

    def render(self, title: str, top: int = 12) -> str:
        lines = [f"#### {title} ({self.samples} on-CPU samples)", ""]
        lines.append(
            "Self time by package: "
            + ", ".join(f"{name} {share:.0%}" for name, share in self.by_package[:10])
        )
        lines += ["", "| self | function |", "|---:|---|"]
        lines += [f"| {share:.1%} | `{name}` |" for name, share in self.top_self[:top]]
        lines += ["", "| inclusive (lower bound) | function |", "|---:|---|"]
        lines += [f"| {share:.1%} | `{name}` |" for name, share in self.top_inclusive[:top]]
        return "\n".join(lines) + "\n"


def summarize(raw: Path, *, skip_inclusive: tuple[str, ...] = ()) -> Summary | None:
    """Rank functions of a py-spy raw file. Inclusive ranking leaves out frames whose name
    contains one of `skip_inclusive` (event loop plumbing that is on every stack)."""
    if not raw.exists():
        return None
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        names: list[str] = []
        files: list[str] = []
        for frame in frames:
            match = _FRAME.match(frame.strip())
            if match is None:
                names.append(frame.strip())
                files.append("")
                continue
            names.append(f"{match['func']} ({_short(match['file'])})")
            files.append(match["file"])
        self_time[names[-1]] += count
        packages[_package(files[-1])] += count
        for name in set(names):
            if not any(skip in name for skip in skip_inclusive):
                inclusive[name] += count
    if total == 0:
        return None
    return Summary(
        samples=total,
        top_self=[(name, n / total) for name, n in self_time.most_common(40)],
        top_inclusive=[(name, n / total) for name, n in inclusive.most_common(60)],
        by_package=[(name, n / total) for name, n in packages.most_common()],
    )
