"""Load generators, always run in their own process: `wrk` with Lua scripts, else an async httpx
loader (`python -m bench.loads http …`), plus the submitters of the end-to-end and wake-up cases
(`python -m bench.loads submit|wait …`). Each loader process prints one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

API_VERSION = "2026-08-01"
# Long enough for wrk's own connect + slow first requests; the case duration is separate.
_WRK_TIMEOUT = "10s"


@dataclass(frozen=True)
class LoadResult:
    """One fixed-duration HTTP load: throughput and latency as the load generator saw them."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    non_2xx: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Request:
    """What every request of a load sends; `unique_idempotency_key` varies one header."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None
    unique_idempotency_key: bool = False


def auth_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Scripe-Api-Version": API_VERSION}


def wrk_path() -> str | None:
    return shutil.which("wrk")


def ensure_wrk(*, allow_install: bool) -> str | None:
    """wrk's path; installs the Debian package when missing and running as root."""
    found = wrk_path()
    if found or not allow_install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> int:
        return subprocess.run(  # noqa: S603
            ["apt-get", *args],  # noqa: S607
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        ).returncode

    if apt_get("install", "-y", "wrk") != 0:
        apt_get("update")
        apt_get("install", "-y", "wrk")
    return wrk_path()


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def wrk_script(request: Request) -> str:
    """A wrk Lua script: fixed headers and body, a fresh Idempotency-Key per request if asked,
    and a `done` hook printing the summary as one JSON line (latencies in microseconds)."""
    prefix = uuid.uuid4().hex[:12]
    headers = "\n".join(
        f"  h[{_lua_string(name)}] = {_lua_string(value)}"
        for name, value in request.headers.items()
    )
    body = _lua_string(request.body) if request.body is not None else "nil"
    key_line = (
        f'  h["Idempotency-Key"] = string.format("b{prefix}-%d-%d", tid, counter)'
        if request.unique_idempotency_key
        else ""
    )
    return f"""
local threads = {{}}
tid = 0
counter = 0
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function request()
  counter = counter + 1
  local h = {{}}
{headers}
{key_line}
  return wrk.format({_lua_string(request.method)}, {_lua_string(request.path)}, h, {body})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_JSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"errors": %d, "non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def run_wrk(
    wrk: str,
    base_url: str,
    request: Request,
    *,
    connections: int,
    threads: int,
    seconds: float,
    workdir: Path,
) -> LoadResult:
    script = workdir / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    script.write_text(wrk_script(request))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={_WRK_TIMEOUT}",
        "-s",
        str(script),
        base_url + request.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = data["duration_us"] / 1e6
    return LoadResult(
        tool=f"wrk -t{threads} -c{connections}",
        requests=data["requests"],
        seconds=seconds_run,
        rps=data["requests"] / seconds_run,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
        non_2xx=data["non_2xx"],
    )


def run_http_loader(
    base_url: str, request: Request, *, connections: int, seconds: float
) -> LoadResult:
    """The fallback: the httpx loader below, in its own process."""
    command = [
        sys.executable,
        "-m",
        "bench.loads",
        "http",
        "--url",
        base_url,
        "--connections",
        str(connections),
        "--seconds",
        str(seconds),
    ]
    # The request (its Authorization header) goes through the environment, not the command line.
    env = {**os.environ, "BENCH_REQUEST": json.dumps(asdict(request))}
    return LoadResult.from_json(_run_json(command, env=env))


def _run_json(command: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (what load tools report); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


# ---------------------------------------------------------------- loader processes


def _client(base_url: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0)


async def _http_load(base_url: str, request: Request, connections: int, seconds: float) -> None:
    latencies: list[float] = []
    errors = 0
    non_2xx = 0
    prefix = uuid.uuid4().hex[:12]
    counter = 0
    async with _client(base_url, connections) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def one_connection() -> None:
            nonlocal errors, non_2xx, counter
            while time.perf_counter() < deadline:
                headers = dict(request.headers)
                if request.unique_idempotency_key:
                    counter += 1
                    headers["Idempotency-Key"] = f"h{prefix}-{counter}"
                sent = time.perf_counter()
                try:
                    response = await client.request(
                        request.method, request.path, headers=headers, content=request.body
                    )
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if not 200 <= response.status_code < 400:
                    non_2xx += 1

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    result = LoadResult(
        tool=f"httpx -c{connections}",
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=errors,
        non_2xx=non_2xx,
    )
    print(json.dumps(asdict(result)))


def generation_body(project_id: str, *, wait_ms: int | None = None, n: int = 0) -> str:
    body: dict[str, Any] = {
        "projectId": project_id,
        "source": {
            "text": f"Benchmark note {n}: we cut our deploy time from 40 to 4 minutes by "
            "caching dependencies, splitting the test suite and deploying on green. "
            "Here is what we learned about fast feedback."
        },
    }
    if wait_ms is not None:
        body["wait_for_completion_ms"] = wait_ms
    return json.dumps(body)


async def _submit(
    base_url: str, key: str, project_id: str, n: int, connections: int, wait_ms: int | None
) -> None:
    """POST `n` generations with `connections` in flight; with `wait_ms`, measure how late each
    waiting response arrives after its job's completedAt (wall clock vs database clock, both
    this machine's)."""
    headers = {**auth_headers(key), "Content-Type": "application/json"}
    prefix = uuid.uuid4().hex[:12]
    ids: list[str] = []
    statuses: dict[str, int] = {}
    wake_ms: list[float] = []
    not_done = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(n):
        queue.put_nowait(index)
    async with _client(base_url, connections) as client:
        started = time.time()

        async def one_connection() -> None:
            nonlocal not_done
            while not queue.empty():
                index = queue.get_nowait()
                response = await client.post(
                    "/v1/posts/generations",
                    headers={**headers, "Idempotency-Key": f"s{prefix}-{index}"},
                    content=generation_body(project_id, wait_ms=wait_ms, n=index),
                )
                received = time.time()
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                if response.status_code != 202:
                    continue
                job = response.json()["data"]
                ids.append(job["id"])
                if wait_ms is None:
                    continue
                if job["status"] != "DONE" or job["completedAt"] is None:
                    not_done += 1
                    continue
                completed = datetime.fromisoformat(job["completedAt"].replace("Z", "+00:00"))
                wake_ms.append((received - completed.timestamp()) * 1000)

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.time() - started
    print(
        json.dumps(
            {
                "started": started,
                "seconds": elapsed,
                "statuses": statuses,
                "ids": ids,
                "wake_ms": wake_ms,
                "not_done": not_done,
                "wake_median_ms": statistics.median(wake_ms) if wake_ms else None,
            }
        )
    )


def run_submitter(
    base_url: str,
    key: str,
    project_id: str,
    *,
    n: int,
    connections: int,
    wait_ms: int | None = None,
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.loads",
        "submit",
        "--url",
        base_url,
        "--project",
        project_id,
        "--n",
        str(n),
        "--connections",
        str(connections),
    ]
    if wait_ms is not None:
        command += ["--wait-ms", str(wait_ms)]
    return _run_json(command, env={**os.environ, "BENCH_API_KEY": key})


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loads")
    modes = parser.add_subparsers(dest="mode", required=True)
    http = modes.add_parser("http", help="fixed-duration load with httpx (wrk's fallback)")
    http.add_argument("--url", required=True)
    http.add_argument(
        "--request",
        default=os.environ.get("BENCH_REQUEST"),
        help="JSON of a bench.loads.Request (or BENCH_REQUEST)",
    )
    http.add_argument("--connections", type=int, default=32)
    http.add_argument("--seconds", type=float, default=10)
    submit = modes.add_parser("submit", help="POST n generations")
    submit.add_argument("--url", required=True)
    submit.add_argument("--key", default=os.environ.get("BENCH_API_KEY"), help="or BENCH_API_KEY")
    submit.add_argument("--project", required=True)
    submit.add_argument("--n", type=int, required=True)
    submit.add_argument("--connections", type=int, default=32)
    submit.add_argument("--wait-ms", type=int, default=None)
    args = parser.parse_args(argv)
    if args.mode == "http":
        request = Request(**json.loads(args.request))
        asyncio.run(_http_load(args.url, request, args.connections, args.seconds))
    else:
        asyncio.run(
            _submit(args.url, args.key, args.project, args.n, args.connections, args.wait_ms)
        )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
