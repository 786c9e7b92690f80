"""The results table printed at the end of a run, bench/RESULTS.md, and the machine they ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.options import BASE_ROWS, Options
from bench.results import Results, evaluate, fmt, fmt_share, ratio


def render(results: Results, options: Options) -> str:
    out = [
        *_http_table(results),
        "",
        *_throughput_table(results, options),
        "",
        *_paragraphs(results, options),
        *_targets_table(results),
    ]
    return "\n".join(out) + "\n"


def _http_table(results: Results) -> list[str]:
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
    out = [
        "| case | req/s | p50 ms | p99 ms | vs floor "
        "| server CPU ms/req (sys) | errors / non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case, label in labels.items():
        load = results.http.get(case)
        if load is None:
            continue
        share = ratio(load.rps, floor_rps)
        out.append(
            f"| {label} | {fmt(load.rps, 0)} | {fmt(load.p50_ms, 2)} | {fmt(load.p99_ms, 2)} "
            f"| {f'{share:.1%}' if share is not None else 'n/a'} "
            f"| {fmt(results.cpu_ms.get(case), 2)} ({fmt_share(results.sys_share.get(case))}) "
            f"| {load.errors} / {load.non_2xx} |"
        )
    return out


def _throughput_table(results: Results, options: Options) -> list[str]:
    e2e, arq = results.e2e, results.arq
    out = ["| throughput | jobs | seconds | jobs/s | vs raw arq |", "|---|---:|---:|---:|---:|"]
    if e2e:
        out += _e2e_rows(e2e, arq.get("jobs_per_second"), options, "wrk")
    if results.e2e_client:
        out += _e2e_rows(results.e2e_client, arq.get("jobs_per_second"), options, "Python client")
    if arq:
        out.append(
            f"| Raw arq no-op jobs (max_jobs={arq.get('max_jobs')}, poll_delay="
            f"{arq.get('poll_delay')}, same Redis; best of "
            f"{' / '.join(fmt(rate, 0) for rate in arq.get('runs_jobs_per_second', []))} jobs/s; "
            f"the whole machine's CPU per job, its "
            f"process start included: {fmt(arq.get('machine_cpu_ms'), 2)} ms) "
            f"| {arq.get('completed')} "
            f"| {fmt(arq.get('drain_seconds'), 2)} | {fmt(arq.get('jobs_per_second'))} | 100% |"
        )
    return out


def _e2e_rows(
    e2e: dict[str, Any], arq_rate: float | None, options: Options, client: str
) -> list[str]:
    e2e_share = ratio(e2e.get("jobs_per_second"), arq_rate)
    cpu = ""
    if e2e.get("worker_cpu_ms") is not None:
        cpu = (
            f"; server CPU per job: API {fmt(e2e.get('api_cpu_ms'), 2)} ms, "
            f"worker {fmt(e2e.get('worker_cpu_ms'), 2)} ms"
        )
        if e2e.get("machine_cpu_ms") is not None:
            cpu += (
                f", Postgres {fmt(e2e.get('postgres_cpu_ms'), 2)} ms, "
                f"Redis {fmt(e2e.get('redis_cpu_ms'), 2)} ms; the whole machine "
                f"{fmt(e2e.get('machine_cpu_ms'), 2)} ms"
            )
    out = [
        f"| End-to-end generations, submit → DONE ({client}, {options.connections} "
        f"connections, offline provider{cpu}) | {e2e.get('done', 0)} / {e2e.get('n', 0)} "
        f"| {fmt(e2e.get('seconds'), 2)} | {fmt(e2e.get('jobs_per_second'))} "
        f"| {f'{e2e_share:.1%}' if e2e_share is not None else 'n/a'} |"
    ]
    if e2e.get("worker_jobs_per_second") is not None:
        out.append(
            f"| … worker only: first startedAt → last completedAt | {e2e.get('done', 0)} "
            f"| {fmt(e2e.get('worker_seconds'), 2)} "
            f"| {fmt(e2e.get('worker_jobs_per_second'))} | "
            f"{fmt_share(ratio(e2e.get('worker_jobs_per_second'), arq_rate))} |"
        )
    if e2e.get("submit_rps") is not None:
        out.append(
            f"| … submission alone (POST 202s while the worker runs) | {e2e.get('n', 0)} "
            f"| {fmt(e2e.get('submit_seconds'), 2)} | {fmt(e2e.get('submit_rps'))} | |"
        )
    return out


def _paragraphs(results: Results, options: Options) -> list[str]:
    """Wake-up, query plans and memory, each a paragraph followed by a blank line."""
    out: list[str] = []
    wake = results.wake
    if wake:
        out.append(
            f"Wake-up (job completedAt → `wait_for_completion_ms=25000` response received), "
            f"{wake.get('samples')} submissions, {options.wait_connections} at a time: "
            f"p50 {fmt(wake.get('p50_ms'))} ms, p99 {fmt(wake.get('p99_ms'))} ms, "
            f"max {fmt(wake.get('max_ms'))} ms; not DONE at response: {wake.get('not_done')}."
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
        f"Resident memory after the loads: API {fmt(rss.get('api'))} MB, worker "
        f"{fmt(rss.get('worker'))} MB (floor app {fmt(rss.get('floor'))} MB)."
    )
    out.append("")
    return out


def _targets_table(results: Results) -> list[str]:
    out = ["| target | wanted | measured | |", "|---|---|---:|---|"]
    for target in evaluate(results):
        verdict = "n/a" if target.met is None else ("met" if target.met else "**not met**")
        out.append(f"| {target.name} | {target.wanted} | {target.measured} | {verdict} |")
    return out


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
    lines += ["", "## Conditions", "", *_conditions(results, options)]
    lines += ["", "## Results", "", table]
    if results.profiles:
        lines += ["## Profiles (py-spy, on-CPU samples)", ""]
        lines += list(results.profiles.values())
    return "\n".join(lines) + "\n"


def _conditions(results: Results, options: Options) -> list[str]:
    lines = [
        f"- One uvicorn process for the API (`scripe-api serve`) and for the floor app, same "
        f"settings and server code path; one worker process (`scripe-api worker`, "
        f"max_jobs {results.arq.get('max_jobs')}). Production settings (`SCRIPE_ENV=production`, "
        "JSON logs at INFO, access log on) except rate limits raised out of reach.",
        f"- Load: {results.http['floor'].tool if 'floor' in results.http else 'n/a'}, "
        f"{options.duration:.0f} s per case after {options.warmup:.0f} s of warm-up, run in its "
        "own process on the same machine (it shares the CPU with the server).",
        "- HTTP cases run with the worker stopped (POSTed jobs stay QUEUED), so the worker does "
        "not compete for the 2 cores; end-to-end and wake-up cases run with it.",
        f"- History: {BASE_ROWS:,} finished live-key generations with their ledger rows "
        "(reservation, provider call) are in the workspace before the first case, then VACUUM "
        "ANALYZE, as in a production database with autovacuum on (this server runs with it off).",
        f"- Rows: {results.rows.get('small', 0):,} jobs in the workspace for the main cases (the "
        f"history and the end-to-end cases' jobs), then {results.rows.get('big', 0):,} (rows "
        "added with one INSERT … SELECT generate_series, then VACUUM ANALYZE).",
    ]
    lines += [f"- {note}" for note in results.notes]
    lines += [
        "- Server CPU ms/req: user + system CPU of the server process over the measured "
        "seconds, divided by the requests; far steadier than req/s on a shared machine.",
        "- Where the time goes, the causes of missed targets and proposed changes: "
        "bench/README.md, “Findings”.",
    ]
    return lines


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
