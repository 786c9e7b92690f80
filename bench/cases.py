"""The measured cases besides the API's HTTP ones: the floor app, end-to-end generations, the
wake-up of waiting requests, and raw arq."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import loads
from bench.console import say
from bench.loads import Request
from bench.options import ROOT
from bench.processes import machine_cpu_seconds, named_cpu_seconds
from bench.stage import Stage

_FINAL_STATUSES = ("DONE", "FAILED", "CANCELLED")


def case_floor(bench: Stage) -> None:
    floor = bench.services.spawn("floor", [sys.executable, "-m", "bench.floor_app"])
    try:
        bench.services.wait_http(floor, "/livez")
        bench.meter.http_case("floor", Request("GET", "/floor", {}), floor)
        bench.results.rss["floor"] = floor.rss_mb()
    finally:
        floor.stop()


def case_e2e_wrk(bench: Stage) -> None:
    """Submit → DONE with the worker running, the submissions made by wrk (a C client, so the
    load generator is not what limits the rate): POSTs with fresh Idempotency-Keys for the
    case's duration, then every job they created is waited for. From the database's clocks:
    jobs DONE / (last completedAt minus first createdAt); plus the server CPU of API and worker
    per job."""
    options = bench.options
    assert bench.api is not None
    assert bench.worker is not None
    say(f"case e2e (wrk): POSTs for {options.duration:.0f} s, {options.connections} connections")
    headers = {**loads.auth_headers(bench.tenant.key), "Content-Type": "application/json"}
    post = Request(
        "POST",
        "/v1/posts/generations",
        headers,
        body=loads.generation_body(bench.tenant.project_id),
        unique_idempotency_key=True,
    )
    since = bench.db.sql("SELECT now() AS now")[0]["now"]
    before = _cpu_seconds(bench)
    with bench.meter.profiled(bench.worker, "worker_e2e", "Worker during end-to-end generations"):
        load = bench.meter.load(post)
        rows = _wait_until_final_since(bench, since)
    after = _cpu_seconds(bench)
    done = [row for row in rows if row["status"] == "DONE"]
    timings = _e2e_timings(rows, done, {"ids": [], "statuses": {}, "seconds": None})
    cpu_ms = {
        name: (after[name] - before[name]) * 1000 / len(done) if done else None for name in before
    }
    bench.results.e2e = {
        **timings,
        "n": len(rows),
        "submitted": len(rows),
        "submit_rps": load.rps,
        "statuses": {"non_2xx": load.non_2xx, "errors": load.errors},
        "api_cpu_ms": cpu_ms["api"],
        "worker_cpu_ms": cpu_ms["worker"],
        "postgres_cpu_ms": cpu_ms["postgres"],
        "redis_cpu_ms": cpu_ms["redis"],
        "machine_cpu_ms": cpu_ms["machine"],
    }
    say(f"  {json.dumps({k: v for k, v in bench.results.e2e.items() if k != 'ids'})}")


def _cpu_seconds(bench: Stage) -> dict[str, float]:
    assert bench.api is not None
    assert bench.worker is not None
    return {
        "api": sum(bench.api.cpu_times()),
        "worker": sum(bench.worker.cpu_times()),
        "postgres": named_cpu_seconds("postgres"),
        "redis": named_cpu_seconds("redis-server"),
        "machine": machine_cpu_seconds(),
    }


def _wait_until_final_since(bench: Stage, since: Any) -> list[Any]:
    """The rows of the tenant's jobs created since `since`, once all are final (or after 5 min)."""
    deadline = time.monotonic() + 300
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = bench.db.sql(
            "SELECT status, created_at, started_at, completed_at FROM jobs "
            "WHERE workspace_id = $1 AND created_at >= $2",
            bench.tenant.workspace_id,
            since,
        )
        if all(row["status"] in _FINAL_STATUSES for row in rows):
            break
        time.sleep(0.05)
    return rows


def case_e2e(bench: Stage) -> str:
    """Submit → DONE with the worker running, submitted by the Python client (the harness's
    method before the wrk case; its own CPU limits the rate); returns a DONE job's id."""
    options = bench.options
    say(f"case e2e: {options.e2e_jobs} generations, {options.connections} submitters")
    submitted = loads.run_submitter(
        bench.base_url,
        bench.tenant.key,
        bench.tenant.project_id,
        n=options.e2e_jobs,
        connections=options.connections,
    )
    ids: list[str] = submitted["ids"]
    rows = _wait_until_final(bench, ids)
    done = [row for row in rows if row["status"] == "DONE"]
    bench.results.e2e_client = {"n": options.e2e_jobs, **_e2e_timings(rows, done, submitted)}
    say(f"  {json.dumps({k: v for k, v in bench.results.e2e_client.items() if k != 'ids'})}")
    if not done:
        raise RuntimeError(f"no job finished:\n{bench.worker.tail() if bench.worker else ''}")
    return str(
        bench.db.sql(
            "SELECT id FROM jobs WHERE id = ANY($1::text[]) AND status = 'DONE' LIMIT 1", ids
        )[0]["id"]
    )


def _wait_until_final(bench: Stage, ids: list[str]) -> list[Any]:
    """The jobs' rows once all are final, or as they are after 5 minutes."""
    deadline = time.monotonic() + 300
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = bench.db.sql(
            "SELECT status, created_at, started_at, completed_at FROM jobs "
            "WHERE id = ANY($1::text[])",
            ids,
        )
        if all(row["status"] in _FINAL_STATUSES for row in rows):
            break
        time.sleep(0.05)
    return rows


def _e2e_timings(rows: list[Any], done: list[Any], submitted: dict[str, Any]) -> dict[str, Any]:
    # From the database's timestamps: the submitters' clocks never enter the rates.
    first_created = min(row["created_at"] for row in rows)
    last_completed = max(row["completed_at"] for row in done) if done else None
    first_started = min(row["started_at"] for row in done) if done else None
    seconds = (last_completed - first_created).total_seconds() if last_completed else None
    worker_seconds = (
        (last_completed - first_started).total_seconds()
        if last_completed and first_started
        else None
    )
    ids = submitted["ids"]
    return {
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


def case_wake(bench: Stage) -> None:
    options = bench.options
    say(f"case wake-up: {options.wait_samples} waits, {options.wait_connections} at a time")
    submitted = loads.run_submitter(
        bench.base_url,
        bench.tenant.key,
        bench.tenant.project_id,
        n=options.wait_samples,
        connections=options.wait_connections,
        wait_ms=25_000,
    )
    wake: list[float] = submitted["wake_ms"]
    bench.results.wake = {
        "samples": len(wake),
        "not_done": submitted["not_done"],
        "statuses": submitted["statuses"],
        "p50_ms": loads.percentile(wake, 0.50) if wake else None,
        "p99_ms": loads.percentile(wake, 0.99) if wake else None,
        "max_ms": max(wake) if wake else None,
        "mean_ms": statistics.fmean(wake) if wake else None,
    }
    say(f"  {json.dumps(bench.results.wake)}")


# The raw arq floor is a baseline: its best run of a few counts (a single run swung between
# 550 and 1,800 jobs/s with whatever else the machine was doing).
ARQ_RUNS = 3


def case_arq(bench: Stage) -> None:
    # The same values the worker runs with (Settings defaults unless the environment says).
    from scripe_api.settings import Settings

    settings = Settings(secret_keys={1: "x" * 40})
    say(f"case raw arq: {bench.options.arq_jobs} no-op jobs, best of {ARQ_RUNS} runs")
    runs = [_arq_run(bench, settings) for _ in range(ARQ_RUNS)]
    best = max(runs, key=lambda run: float(run.get("jobs_per_second") or 0))
    bench.results.arq = {
        **best,
        "runs_jobs_per_second": [run.get("jobs_per_second") for run in runs],
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay_seconds,
    }
    say(f"  {json.dumps(bench.results.arq)}")


def _arq_run(bench: Stage, settings: Any) -> dict[str, Any]:
    machine_before = machine_cpu_seconds()
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.arq_floor",
            "--redis-url",
            bench.db.redis_url,
            "--n",
            str(bench.options.arq_jobs),
            "--max-jobs",
            str(settings.worker_max_jobs),
            "--poll-delay",
            str(settings.worker_poll_delay_seconds),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=bench.services.env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"arq floor failed: {done.stderr[-2000:]}")
    # The whole run's CPU, the Python start-up of its process included: an upper bound.
    machine_ms = (machine_cpu_seconds() - machine_before) * 1000 / bench.options.arq_jobs
    run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**run, "machine_cpu_ms": machine_ms}
