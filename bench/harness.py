"""The benchmark run: servers, a fresh database, the service in production mode, the cases, the
table and bench/RESULTS.md. See bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
from sqlalchemy.engine import make_url

from bench import loads, profiling
from bench.loads import LoadResult, Request

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATABASE = "scripe_bench"
# Limits no benchmark reaches: neither 429 nor 402 is measured (ENTERPRISE has no spend cap).
UNLIMITED_RATES = {"read": 100_000_000, "write": 100_000_000, "ai": 100_000_000}
BASE_ROWS = 1_000
_ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    connections: int
    threads: int
    quick: bool
    embedded: bool
    postgres_url: str
    redis_url: str
    port: int
    e2e_jobs: int
    arq_jobs: int
    wait_samples: int
    wait_connections: int
    big_rows: int
    profile: bool
    output: Path | None
    install_wrk: bool
    loader: str
    hold: bool
    experiments: str


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark scripe-api in production mode on real Postgres and Redis.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores here)")
    parser.add_argument(
        "--quick", action="store_true", help="short cases and 100k instead of 1M rows (a smoke run)"
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="use embedded Postgres and Redis (src/scripe_api/embedded.py) instead of the system's",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin connection to the system Postgres (the run creates and drops "
        f"the database {DATABASE})",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="the system Redis and a dedicated db number (flushed before and after)",
    )
    parser.add_argument("--port", type=int, default=18_731)
    parser.add_argument("--e2e-jobs", type=int, default=800)
    parser.add_argument("--arq-jobs", type=int, default=3_000)
    parser.add_argument("--wait-samples", type=int, default=200)
    parser.add_argument("--wait-connections", type=int, default=4)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--profile", action="store_true", help="sample API and worker with py-spy during loads"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH_DIR / "RESULTS.md",
        help="where the results go ('-' for nowhere)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk when it is missing"
    )
    parser.add_argument(
        "--loader", choices=("auto", "wrk", "httpx"), default="auto", help="HTTP load generator"
    )
    parser.add_argument(
        "--hold",
        action="store_true",
        help="set up, start API and worker, print how to reach them, and wait for Ctrl-C "
        "(for manual profiling); measures nothing",
    )
    parser.add_argument(
        "--experiments",
        default="",
        help="comma-separated bench/experiments.py patches applied to API and worker "
        "(to measure a candidate change without editing src/)",
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        duration=min(args.duration, 4.0) if quick else args.duration,
        warmup=min(args.warmup, 1.0) if quick else args.warmup,
        connections=args.connections,
        threads=args.threads,
        quick=quick,
        embedded=args.embedded,
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        port=args.port,
        e2e_jobs=min(args.e2e_jobs, 300) if quick else args.e2e_jobs,
        arq_jobs=min(args.arq_jobs, 1_000) if quick else args.arq_jobs,
        wait_samples=min(args.wait_samples, 50) if quick else args.wait_samples,
        wait_connections=args.wait_connections,
        big_rows=min(args.big_rows, 100_000) if quick else args.big_rows,
        profile=args.profile,
        output=None if str(args.output) == "-" else args.output,
        install_wrk=not args.no_install,
        loader=args.loader,
        hold=args.hold,
        experiments=args.experiments,
    )


# ---------------------------------------------------------------- processes


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


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- results


@dataclass
class Results:
    machine: dict[str, str] = field(default_factory=dict)
    http: dict[str, LoadResult] = field(default_factory=dict)
    # Server CPU (user + system) per request: far less sensitive to a busy machine than req/s.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    sys_share: dict[str, float] = field(default_factory=dict)  # of that CPU, in the kernel
    e2e: dict[str, Any] = field(default_factory=dict)
    arq: dict[str, Any] = field(default_factory=dict)
    wake: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    # Postgres' own execution time (EXPLAIN ANALYZE) of the two GETs' queries, by table size.
    plans: dict[str, str] = field(default_factory=dict)
    rss: dict[str, float | None] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    measured: str
    met: bool | None  # None: not measured


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None, floor: float | None) -> float | None:
    if value is None or not floor:
        return None
    return value / floor


def evaluate(results: Results) -> list[Target]:
    floor = results.http.get("floor")
    floor_rps = floor.rps if floor else None
    targets: list[Target] = []

    def http_share(case: str, label: str, minimum: float) -> None:
        load = results.http.get(case)
        share = _ratio(load.rps if load else None, floor_rps)
        targets.append(
            Target(
                label,
                f"≥ {minimum:.0%} of floor",
                f"{share:.1%}" if share is not None else "n/a",
                None if share is None else share >= minimum,
            )
        )

    http_share("get_job", "GET /v1/jobs/{id} throughput", 0.35)
    http_share("post_generation", "POST /v1/posts/generations throughput", 0.12)
    e2e_rate = results.e2e.get("jobs_per_second")
    arq_rate = results.arq.get("jobs_per_second")
    share = _ratio(e2e_rate, arq_rate)
    targets.append(
        Target(
            "End-to-end generations/s",
            "≥ 30% of raw arq",
            f"{share:.1%}" if share is not None else "n/a",
            None if share is None else share >= 0.30,
        )
    )
    p99 = results.wake.get("p99_ms")
    targets.append(
        Target(
            "Wait wake-up p99",
            "≤ 50 ms",
            f"{_fmt(p99)} ms",
            None if p99 is None else p99 <= 50,
        )
    )
    for case, label in (("get_job", "GET /v1/jobs/{id}"), ("list_jobs", "GET /v1/jobs?limit=50")):
        small, big = results.http.get(case), results.http.get(f"{case}_big")
        growth = _ratio(big.p99_ms if big else None, small.p99_ms if small else None)
        targets.append(
            Target(
                f"{label} p99 at {results.rows.get('big', 0):,} rows",
                "≤ 1.5× p99 at 1k rows",
                f"{growth:.2f}×" if growth is not None else "n/a",
                None if growth is None else growth <= 1.5,
            )
        )
    for proc in ("api", "worker"):
        rss = results.rss.get(proc)
        targets.append(
            Target(
                f"{proc.upper() if proc == 'api' else 'Worker'} RSS after load",
                "< 200 MB",
                f"{_fmt(rss)} MB",
                None if rss is None else rss < 200,
            )
        )
    return targets


def render(results: Results, options: Options) -> str:
    floor = results.http.get("floor")
    floor_rps = floor.rps if floor else None
    labels = {
        "floor": "Floor: bare FastAPI `GET /floor` (same server config)",
        "get_job": "`GET /v1/jobs/{id}`",
        "list_jobs": "`GET /v1/jobs?limit=50`",
        "post_generation": "`POST /v1/posts/generations` (unique Idempotency-Key)",
        "get_job_big": f"`GET /v1/jobs/{{id}}` at {results.rows.get('big', 0):,} rows",
        "list_jobs_big": f"`GET /v1/jobs?limit=50` at {results.rows.get('big', 0):,} rows",
    }
    out: list[str] = []
    out.append(
        "| case | req/s | p50 ms | p99 ms | vs floor | server CPU ms/req (sys) | errors / non-2xx |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for case, label in labels.items():
        load = results.http.get(case)
        if load is None:
            continue
        share = _ratio(load.rps, floor_rps)
        out.append(
            f"| {label} | {_fmt(load.rps, 0)} | {_fmt(load.p50_ms, 2)} | {_fmt(load.p99_ms, 2)} "
            f"| {f'{share:.1%}' if share is not None else 'n/a'} "
            f"| {_fmt(results.cpu_ms.get(case), 2)} ({_fmt_share(results.sys_share.get(case))}) "
            f"| {load.errors} / {load.non_2xx} |"
        )
    out.append("")
    e2e, arq = results.e2e, results.arq
    arq_rate = arq.get("jobs_per_second")
    e2e_share = _ratio(e2e.get("jobs_per_second"), arq_rate)
    out.append("| throughput | jobs | seconds | jobs/s | vs raw arq |")
    out.append("|---|---:|---:|---:|---:|")
    if e2e:
        out.append(
            f"| End-to-end generations, submit → DONE ({options.connections} submitters, "
            f"offline provider) | {e2e.get('done', 0)} / {e2e.get('n', 0)} "
            f"| {_fmt(e2e.get('seconds'), 2)} | {_fmt(e2e.get('jobs_per_second'))} "
            f"| {f'{e2e_share:.1%}' if e2e_share is not None else 'n/a'} |"
        )
        if e2e.get("worker_jobs_per_second") is not None:
            out.append(
                f"| … worker only: first startedAt → last completedAt | {e2e.get('done', 0)} "
                f"| {_fmt(e2e.get('worker_seconds'), 2)} "
                f"| {_fmt(e2e.get('worker_jobs_per_second'))} | "
                f"{_fmt_share(_ratio(e2e.get('worker_jobs_per_second'), arq_rate))} |"
            )
        if e2e.get("submit_rps") is not None:
            out.append(
                f"| … submission alone (POST 202s while the worker runs) | {e2e.get('n', 0)} "
                f"| {_fmt(e2e.get('submit_seconds'), 2)} | {_fmt(e2e.get('submit_rps'))} | |"
            )
    if arq:
        out.append(
            f"| Raw arq no-op jobs (max_jobs={arq.get('max_jobs')}, poll_delay="
            f"{arq.get('poll_delay')}, same Redis) | {arq.get('completed')} "
            f"| {_fmt(arq.get('drain_seconds'), 2)} | {_fmt(arq.get('jobs_per_second'))} | 100% |"
        )
    out.append("")
    wake = results.wake
    if wake:
        out.append(
            f"Wake-up (job completedAt → `wait_for_completion_ms=25000` response received), "
            f"{wake.get('samples')} submissions, {options.wait_connections} at a time: "
            f"p50 {_fmt(wake.get('p50_ms'))} ms, p99 {_fmt(wake.get('p99_ms'))} ms, "
            f"max {_fmt(wake.get('max_ms'))} ms; not DONE at response: {wake.get('not_done')}."
        )
        out.append("")
    if results.plans:
        out.append(
            "Postgres execution time (EXPLAIN ANALYZE) of the same queries: "
            + "; ".join(f"{name}: {text}" for name, text in results.plans.items())
            + "."
        )
        out.append("")
    rss = results.rss
    out.append(
        f"Resident memory after the loads: API {_fmt(rss.get('api'))} MB, worker "
        f"{_fmt(rss.get('worker'))} MB (floor app {_fmt(rss.get('floor'))} MB)."
    )
    out.append("")
    out.append("| target | wanted | measured | |")
    out.append("|---|---|---:|---|")
    for target in evaluate(results):
        verdict = "n/a" if target.met is None else ("met" if target.met else "**not met**")
        out.append(f"| {target.name} | {target.wanted} | {target.measured} | {verdict} |")
    return "\n".join(out) + "\n"


def _fmt_share(share: float | None) -> str:
    return f"{share:.0%}" if share is not None and share == share else "n/a"


def render_document(results: Results, options: Options, table: str) -> str:
    machine = results.machine
    lines = [
        "# scripe-api benchmark results",
        "",
        f"Run {machine.get('date')} by `python -m bench"
        f"{' --quick' if options.quick else ''}{' --profile' if options.profile else ''}` "
        f"({results.seconds:.0f} s).",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in machine.items() if key != "date"]
    lines += [
        "",
        "## Conditions",
        "",
        f"- One uvicorn process for the API (`scripe-api serve`) and for the floor app, same "
        f"settings and server code path; one worker process (`scripe-api worker`, "
        f"max_jobs {results.arq.get('max_jobs')}). Production settings (`SCRIPE_ENV=production`, "
        "JSON logs at INFO, access log on) except rate limits raised out of reach.",
        f"- Load: {results.http['floor'].tool if 'floor' in results.http else 'n/a'}, "
        f"{options.duration:.0f} s per case after {options.warmup:.0f} s of warm-up, run in its "
        "own process on the same machine (it shares the CPU with the server).",
        "- HTTP cases run with the worker stopped (POSTed jobs stay QUEUED), so the worker does "
        "not compete for the 2 cores; end-to-end and wake-up cases run with it.",
        f"- Rows: {results.rows.get('small', 0):,} jobs in the workspace for the main cases, then "
        f"{results.rows.get('big', 0):,} (rows added with one INSERT … SELECT generate_series, "
        "then VACUUM ANALYZE).",
    ]
    lines += [f"- {note}" for note in results.notes]
    lines += [
        "- Server CPU ms/req: user + system CPU of the server process over the measured "
        "seconds, divided by the requests; far steadier than req/s on a shared machine.",
        "- Where the time goes, the causes of missed targets and proposed changes: "
        "bench/README.md, “Findings”.",
    ]
    lines += ["", "## Results", "", table]
    if results.profiles:
        lines += ["## Profiles (py-spy, on-CPU samples)", ""]
        lines += list(results.profiles.values())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- machine


def _first_line(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if done.stdout or done.stderr
        else "n/a"
    )


def describe_machine(postgres_version: str, redis_version: str, wrk: str | None) -> dict[str, str]:
    cpu = "n/a"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "n/a"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": postgres_version,
        "Redis": redis_version,
        "load generator": _first_line([wrk, "--version"]) if wrk else "httpx (wrk missing)",
        "load average at start": load,
    }


# ---------------------------------------------------------------- the run


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="scripe-bench-"))
        self.results = Results()
        self.procs: list[Proc] = []
        self.stack: Any = None
        self.admin_dsn = options.postgres_url
        self.redis_url = options.redis_url
        self.database_url = ""
        self.dsn = ""
        self.env: dict[str, str] = {}
        self.key = ""
        self.project_id = ""
        self.workspace_id = ""
        self.wrk: str | None = None
        self.api: Proc | None = None
        self.worker: Proc | None = None
        self.base_url = f"http://127.0.0.1:{options.port}"
        self.last_cpu_ms = float("nan")
        self.last_sys_share = float("nan")

    # -------------------------------------------------------- setup

    def start_servers(self) -> None:
        if self.options.embedded:
            from scripe_api.embedded import EmbeddedStack

            self.stack = EmbeddedStack(self.workdir / "stack", durable=False)
            database_url, redis_url = self.stack.start()
            url = make_url(database_url)
            self.admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
                hide_password=False
            )
            self.redis_url = redis_url
        url = make_url(self.admin_dsn)
        self.database_url = url.set(
            drivername="postgresql+asyncpg", database=DATABASE
        ).render_as_string(hide_password=False)
        self.dsn = url.set(drivername="postgresql", database=DATABASE).render_as_string(
            hide_password=False
        )

    def create_database(self) -> str:
        async def create() -> str:
            connection = await asyncpg.connect(self.admin_dsn)
            try:
                version: str = await connection.fetchval("SHOW server_version")
                await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
                await connection.execute(f'CREATE DATABASE "{DATABASE}"')
            finally:
                await connection.close()
            return version

        return asyncio.run(create())

    def drop_database(self) -> None:
        async def drop() -> None:
            connection = await asyncpg.connect(self.admin_dsn)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            finally:
                await connection.close()

        asyncio.run(drop())

    def flush_redis(self) -> str:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            version = str(info.get("redis_version", "n/a"))
        finally:
            client.close()
        return version

    def make_env(self) -> None:
        self.env = {
            **os.environ,
            "SCRIPE_ENV": "production",
            "SCRIPE_DATABASE_URL": self.database_url,
            "SCRIPE_REDIS_URL": self.redis_url,
            "SCRIPE_SECRET_KEYS": json.dumps({"1": secrets.token_urlsafe(48)}),
            "SCRIPE_RATE_LIMITS": json.dumps(UNLIMITED_RATES),
            "SCRIPE_HOST": "127.0.0.1",
            "SCRIPE_PORT": str(self.options.port),
            "SCRIPE_GENERATOR_PROVIDER": "offline",
            "PYTHONUNBUFFERED": "1",
        }

    def cli(self, *args: str) -> str:
        command = [str(Path(sys.executable).with_name("scripe-api")), *args]
        done = subprocess.run(  # noqa: S603
            command, env=self.env, capture_output=True, text=True, check=False, cwd=ROOT
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripe-api {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def seed(self) -> None:
        _say(self.cli("migrate").strip())
        out = self.cli("workspaces", "create", "--name", "Bench", "--plan", "enterprise")
        self.workspace_id = _token(out, "org_")
        out = self.cli(
            "projects",
            "create",
            "--workspace",
            self.workspace_id,
            "--name",
            "Bench project",
            "--description",
            "Direct, practical, engineering-minded.",
            "--sample",
            "We shipped the new pipeline last week. Deploys went from 40 minutes to 4.",
            "--pillar",
            "Engineering: how we build and ship",
        )
        self.project_id = _token(out, "proj_")
        out = self.cli("keys", "create", "--workspace", self.workspace_id, "--name", "bench")
        self.key = _token(out, "scripe_sk_live_")

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
        experiments = self.options.experiments if experiments is None else experiments
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

    # -------------------------------------------------------- loads

    def load(self, request: Request, server: Proc | None = None) -> LoadResult:
        """Warm up, then measure; with `server`, its CPU per request goes to `last_cpu_ms`."""
        options = self.options
        self.warm(request)
        nan = (float("nan"), float("nan"))
        before = server.cpu_times() if server is not None else nan
        if self.wrk is not None:
            result = loads.run_wrk(
                self.wrk,
                self.base_url,
                request,
                connections=options.connections,
                threads=options.threads,
                seconds=options.duration,
                workdir=self.workdir,
            )
        else:
            result = loads.run_http_loader(
                self.base_url, request, connections=options.connections, seconds=options.duration
            )
        after = server.cpu_times() if server is not None else nan
        user, system = after[0] - before[0], after[1] - before[1]
        used = user + system
        self.last_cpu_ms = used * 1000 / result.requests if result.requests else float("nan")
        self.last_sys_share = system / used if used > 0 else float("nan")
        return result

    def warm(self, request: Request) -> None:
        options = self.options
        if self.wrk is not None:
            if options.warmup > 0:
                loads.run_wrk(
                    self.wrk,
                    self.base_url,
                    request,
                    connections=options.connections,
                    threads=options.threads,
                    seconds=options.warmup,
                    workdir=self.workdir,
                )
            return
        if options.warmup > 0:
            loads.run_http_loader(
                self.base_url, request, connections=options.connections, seconds=options.warmup
            )

    @contextmanager
    def profiled(self, proc: Proc | None, name: str, title: str) -> Iterator[None]:
        if not self.options.profile or proc is None:
            yield
            return
        raw = self.workdir / f"profile-{name}.txt"
        sampler = profiling.Sampler(proc.pid, raw)
        started = sampler.start()
        try:
            yield
        finally:
            if started:
                sampler.stop()
                summary = profiling.summarize(raw, skip_inclusive=profiling.PLUMBING)
                if summary is not None:
                    self.results.profiles[name] = summary.render(title)
                    _say(f"profile {name}: {raw}")
            else:
                self.results.notes.append("py-spy not found: no profiles")

    def http_case(
        self,
        name: str,
        request: Request,
        server: Proc | None,
        *,
        profile_title: str | None = None,
    ) -> None:
        _say(f"case {name}: {request.method} {request.path}")
        if profile_title:
            with self.profiled(server, name, profile_title):
                result = self.load(request, server)
        else:
            result = self.load(request, server)
        self.results.http[name] = result
        self.results.cpu_ms[name] = self.last_cpu_ms
        self.results.sys_share[name] = self.last_sys_share
        _say(
            f"  {result.rps:,.0f} req/s  p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  "
            f"server CPU {self.last_cpu_ms:.2f} ms/req ({self.last_sys_share:.0%} sys)  "
            f"errors {result.errors}  non-2xx {result.non_2xx}"
        )

    # -------------------------------------------------------- database helpers

    def sql(self, query: str, *args: Any) -> Any:
        async def run() -> Any:
            connection = await asyncpg.connect(self.dsn)
            try:
                return await connection.fetch(query, *args)
            finally:
                await connection.close()

        return asyncio.run(run())

    def sql_script(self, query: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(self.dsn)
            try:
                await connection.execute(query)
            finally:
                await connection.close()

        asyncio.run(run())

    def explain(self, size: str, job_id: str) -> None:
        """EXPLAIN ANALYZE of what GET job and GET jobs?limit=50 run: plan and server time,
        free of HTTP and scheduling noise."""
        queries = {
            "get_job": ("SELECT * FROM jobs WHERE workspace_id = $1 AND id = $2", [job_id]),
            "list_jobs": (
                "SELECT * FROM jobs WHERE workspace_id = $1 "
                "ORDER BY created_at DESC, id DESC LIMIT 51",
                [],
            ),
        }
        for name, (query, extra) in queries.items():
            rows = self.sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", self.workspace_id, *extra)
            plan = json.loads(rows[0][0])[0]
            node = plan["Plan"]
            while node.get("Node Type") == "Limit" and node.get("Plans"):
                node = node["Plans"][0]
            self.results.plans[f"{name}_{size}"] = (
                f"{node.get('Node Type')} on {node.get('Index Name', node.get('Relation Name'))}, "
                f"{plan['Execution Time']:.3f} ms"
            )

    def job_count(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM jobs")[0]["n"])

    def add_rows(self, total: int) -> int:
        """Add synthetic DONE jobs older than every real one until the table holds `total`."""
        missing = total - self.job_count()
        if missing <= 0:
            return self.job_count()
        _say(f"inserting {missing:,} job rows")
        started = time.monotonic()
        ms = "(extract(epoch FROM g.created_at) * 1000)::bigint"
        time_part = " || ".join(
            f"substr('{_ULID_ALPHABET}', (({ms} >> {5 * (9 - i)}) & 31)::int + 1, 1)"
            for i in range(10)
        )
        # ULIDs whose time part is created_at: ids sort as created_at does (keyset order).
        seq_part = " || ".join(
            f"substr('{_ULID_ALPHABET}', ((g.n >> {5 * (9 - i)}) & 31)::int + 1, 1)"
            for i in range(10)
        )
        # Only constants and integers are formatted into the statement; ids are parameters.
        self.sql(
            f"""
            INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input, result,
                              attempt_count, estimated_completion_ms, started_at, completed_at,
                              created_at, updated_at)
            SELECT 'job_' || {time_part} || 'BENCH0' || {seq_part},
                   $1, $2, 'POST_GENERATION', 'DONE', 'live',
                   t.input, jsonb_build_object('postId', 'post_BENCH' || g.n), 1, 25000,
                   g.created_at + interval '20 ms', g.created_at + interval '120 ms',
                   g.created_at, g.created_at + interval '120 ms'
            FROM (SELECT n, date_trunc('milliseconds',
                            (SELECT min(created_at) FROM jobs) - n * interval '1 second')
                         AS created_at
                  FROM generate_series(1, {missing}) AS n) AS g,
                 (SELECT input FROM jobs ORDER BY created_at LIMIT 1) AS t
            """,  # noqa: S608
            self.workspace_id,
            self.project_id,
        )
        self.sql_script("VACUUM ANALYZE jobs")
        count = self.job_count()
        _say(f"  {count:,} rows in {time.monotonic() - started:.1f} s")
        return count

    # -------------------------------------------------------- cases

    def case_floor(self) -> None:
        floor = self.spawn("floor", [sys.executable, "-m", "bench.floor_app"])
        try:
            self.wait_http(floor, "/livez")
            self.http_case("floor", Request("GET", "/floor", {}), floor)
            self.results.rss["floor"] = floor.rss_mb()
        finally:
            floor.stop()

    def case_e2e(self) -> str:
        """Submit → DONE with the worker running; returns a DONE job's id."""
        options = self.options
        _say(f"case e2e: {options.e2e_jobs} generations, {options.connections} submitters")
        with self.profiled(self.worker, "worker_e2e", "Worker during end-to-end generations"):
            submitted = loads.run_submitter(
                self.base_url,
                self.key,
                self.project_id,
                n=options.e2e_jobs,
                connections=options.connections,
            )
            ids: list[str] = submitted["ids"]
            deadline = time.monotonic() + 300
            rows: list[Any] = []
            while time.monotonic() < deadline:
                rows = self.sql(
                    "SELECT status, created_at, started_at, completed_at FROM jobs "
                    "WHERE id = ANY($1::text[])",
                    ids,
                )
                if all(row["status"] in ("DONE", "FAILED", "CANCELLED") for row in rows):
                    break
                time.sleep(0.05)
        done = [row for row in rows if row["status"] == "DONE"]
        first_created = min(row["created_at"] for row in rows)
        last_completed = max(row["completed_at"] for row in done) if done else None
        first_started = min(row["started_at"] for row in done) if done else None
        seconds = (last_completed - first_created).total_seconds() if last_completed else None
        worker_seconds = (
            (last_completed - first_started).total_seconds()
            if last_completed and first_started
            else None
        )
        self.results.e2e = {
            "n": options.e2e_jobs,
            "submitted": len(ids),
            "statuses": submitted["statuses"],
            "done": len(done),
            "seconds": seconds,
            "jobs_per_second": len(done) / seconds if seconds else None,
            "worker_seconds": worker_seconds,
            "worker_jobs_per_second": len(done) / worker_seconds if worker_seconds else None,
            "submit_seconds": submitted["seconds"],
            "submit_rps": len(ids) / submitted["seconds"] if submitted["seconds"] else None,
        }
        _say(f"  {json.dumps({k: v for k, v in self.results.e2e.items() if k != 'ids'})}")
        if not done:
            raise RuntimeError(f"no job finished:\n{self.worker.tail() if self.worker else ''}")
        return str(
            self.sql(
                "SELECT id FROM jobs WHERE id = ANY($1::text[]) AND status = 'DONE' LIMIT 1", ids
            )[0]["id"]
        )

    def case_wake(self) -> None:
        options = self.options
        _say(f"case wake-up: {options.wait_samples} waits, {options.wait_connections} at a time")
        submitted = loads.run_submitter(
            self.base_url,
            self.key,
            self.project_id,
            n=options.wait_samples,
            connections=options.wait_connections,
            wait_ms=25_000,
        )
        wake: list[float] = submitted["wake_ms"]
        self.results.wake = {
            "samples": len(wake),
            "not_done": submitted["not_done"],
            "statuses": submitted["statuses"],
            "p50_ms": loads.percentile(wake, 0.50) if wake else None,
            "p99_ms": loads.percentile(wake, 0.99) if wake else None,
            "max_ms": max(wake) if wake else None,
            "mean_ms": statistics.fmean(wake) if wake else None,
        }
        _say(f"  {json.dumps(self.results.wake)}")

    def case_arq(self) -> None:
        # The same values the worker runs with (Settings defaults unless the environment says).
        from scripe_api.settings import Settings

        settings = Settings(secret_keys={1: "x" * 40})
        _say(f"case raw arq: {self.options.arq_jobs} no-op jobs")
        done = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "bench.arq_floor",
                "--redis-url",
                self.redis_url,
                "--n",
                str(self.options.arq_jobs),
                "--max-jobs",
                str(settings.worker_max_jobs),
                "--poll-delay",
                str(settings.worker_poll_delay_seconds),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            env=self.env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"arq floor failed: {done.stderr[-2000:]}")
        self.results.arq = {
            **json.loads(done.stdout.strip().splitlines()[-1]),
            "max_jobs": settings.worker_max_jobs,
            "poll_delay": settings.worker_poll_delay_seconds,
        }
        _say(f"  {json.dumps(self.results.arq)}")

    def execute(self) -> None:
        options = self.options
        started = time.monotonic()
        self.start_servers()
        postgres_version = self.create_database()
        redis_version = self.flush_redis()
        if options.loader != "httpx":
            self.wrk = loads.ensure_wrk(allow_install=options.install_wrk)
            if self.wrk is None:
                if options.loader == "wrk":
                    raise RuntimeError("wrk is not installed (apt-get install wrk)")
                self.results.notes.append("wrk missing: the httpx loader measured the HTTP cases")
        self.results.machine = describe_machine(postgres_version, redis_version, self.wrk)
        self.make_env()
        self.seed()
        if options.hold:
            self.hold()
            return

        self.case_floor()

        self.api = self.start_api()
        self.worker = self.start_worker()
        job_id = self.case_e2e()
        self.case_wake()
        self.results.rss["worker"] = self.worker.rss_mb()
        self.worker.stop()
        self.case_arq()

        self.results.rows["small"] = self.add_rows(BASE_ROWS)
        self.sql_script("VACUUM ANALYZE jobs")
        self.explain("small", job_id)
        headers = loads.auth_headers(self.key)
        get_job = Request("GET", f"/v1/jobs/{job_id}", headers)
        list_jobs = Request("GET", "/v1/jobs?limit=50", headers)
        self.http_case("get_job", get_job, self.api, profile_title="API under GET /v1/jobs/{id}")
        self.http_case(
            "list_jobs", list_jobs, self.api, profile_title="API under GET /v1/jobs?limit=50"
        )
        post = Request(
            "POST",
            "/v1/posts/generations",
            {**headers, "Content-Type": "application/json"},
            body=loads.generation_body(self.project_id),
            unique_idempotency_key=True,
        )
        self.http_case(
            "post_generation", post, self.api, profile_title="API under POST generations"
        )

        self.results.rows["big"] = self.add_rows(options.big_rows)
        self.explain("big", job_id)
        self.http_case("get_job_big", get_job, self.api)
        self.http_case("list_jobs_big", list_jobs, self.api)
        self.results.rss["api"] = self.api.rss_mb()
        self.api.stop()
        self.results.seconds = time.monotonic() - started

    def hold(self) -> None:
        self.api = self.start_api()
        self.worker = self.start_worker()
        loads.run_submitter(self.base_url, self.key, self.project_id, n=50, connections=4)
        time.sleep(2)
        self.results.rows["small"] = self.add_rows(BASE_ROWS)
        job_id = self.sql("SELECT id FROM jobs ORDER BY created_at DESC LIMIT 1")[0]["id"]
        env_file = self.workdir / "bench.env"
        env_file.write_text(
            f"API={self.base_url}\nKEY={self.key}\nPROJECT={self.project_id}\nJOB={job_id}\n"
            f"API_PID={self.api.pid}\nWORKER_PID={self.worker.pid}\n"
        )
        _say(f"holding: API pid {self.api.pid}, worker pid {self.worker.pid}; see {env_file}")
        _say("Ctrl-C (or SIGTERM) stops everything and drops the database")
        stop = False

        def on_signal(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stop:
            time.sleep(0.5)

    def cleanup(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        try:
            self.drop_database()
        except (OSError, asyncpg.PostgresError) as error:
            _say(f"could not drop {DATABASE}: {error}")
        try:
            self.flush_redis()
        except redis.RedisError as error:
            _say(f"could not flush Redis: {error}")
        if self.stack is not None:
            self.stack.stop()


def _token(text: str, prefix: str) -> str:
    for word in text.replace("(", " ").replace(")", " ").replace(",", " ").split():
        if word.startswith(prefix):
            return word.rstrip(".")
    raise RuntimeError(f"no {prefix}… in: {text}")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    bench = Bench(options)
    failed: BaseException | None = None
    try:
        bench.execute()
    except (RuntimeError, OSError, asyncpg.PostgresError, redis.RedisError) as error:
        failed = error
    except KeyboardInterrupt:
        _say("interrupted")
        failed = KeyboardInterrupt()
    finally:
        bench.cleanup()
    table = render(bench.results, options)
    print(table)
    if failed is not None:
        _say(f"FAILED: {failed}")
        _say(f"logs: {bench.workdir}")
        return 1
    # --hold measures nothing: it must not replace the last real results.
    if options.output is not None and not options.hold:
        options.output.write_text(render_document(bench.results, options, table))
        _say(f"wrote {options.output}")
    for text in bench.results.profiles.values():
        print(text)
    _say(f"logs and profiles: {bench.workdir}")
    return 0
