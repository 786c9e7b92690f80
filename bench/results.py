"""What a run measured, and which targets (bench/README.md) it meets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.loads import LoadResult


@dataclass
class Results:
    machine: dict[str, str] = field(default_factory=dict)
    http: dict[str, LoadResult] = field(default_factory=dict)
    # Server CPU (user + system) per request: far less sensitive to a busy machine than req/s.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    sys_share: dict[str, float] = field(default_factory=dict)  # of that CPU, in the kernel
    e2e: dict[str, Any] = field(default_factory=dict)
    # The same, submitted by the Python client (as runs before the wrk case measured it).
    e2e_client: dict[str, Any] = field(default_factory=dict)
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


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_share(share: float | None) -> str:
    return f"{share:.0%}" if share is not None and share == share else "n/a"


def ratio(value: float | None, floor: float | None) -> float | None:
    if value is None or not floor:
        return None
    return value / floor


def evaluate(results: Results) -> list[Target]:
    return [*_throughput_targets(results), *_growth_targets(results), *_rss_targets(results)]


def _share_target(label: str, wanted: str, share: float | None, minimum: float) -> Target:
    return Target(
        label,
        wanted,
        f"{share:.1%}" if share is not None else "n/a",
        None if share is None else share >= minimum,
    )


def _cpu_target(results: Results, case: str, label: str, maximum: float) -> Target:
    cpu = results.cpu_ms.get(case)
    return Target(
        f"{label} server CPU per request",
        f"≤ {maximum} ms",
        f"{fmt(cpu, 2)} ms",
        None if cpu is None else cpu <= maximum,
    )


def _throughput_targets(results: Results) -> list[Target]:
    """Issue 12's targets: same-run ratios against the floor (HTTP) and raw arq (jobs)."""
    floor = results.http.get("floor")
    floor_rps = floor.rps if floor else None
    targets: list[Target] = []
    for case, label, minimum in (
        ("get_job", "GET /v1/jobs/{id} throughput", 0.35),
        ("list_jobs", "GET /v1/jobs?limit=50 throughput", 0.15),
        ("post_generation", "POST /v1/posts/generations throughput", 0.12),
    ):
        load = results.http.get(case)
        share = ratio(load.rps if load else None, floor_rps)
        targets.append(_share_target(label, f"≥ {minimum:.0%} of floor", share, minimum))
    targets.append(_cpu_target(results, "get_job", "GET /v1/jobs/{id}", 0.6))
    targets.append(_cpu_target(results, "post_generation", "POST /v1/posts/generations", 1.7))
    share = ratio(results.e2e.get("jobs_per_second"), results.arq.get("jobs_per_second"))
    targets.append(_share_target("End-to-end generations/s", "≥ 20% of raw arq", share, 0.20))
    p99 = results.wake.get("p99_ms")
    targets.append(
        Target("Wait wake-up p99", "≤ 50 ms", f"{fmt(p99)} ms", None if p99 is None else p99 <= 50)
    )
    return targets


def _growth_targets(results: Results) -> list[Target]:
    """The keyset queries must not degrade with the table: the same plan at both sizes (the
    EXPLAIN lines), and server CPU per request at the big table ≤ 1.2× the small one's."""
    targets: list[Target] = []
    for case, label in (("get_job", "GET /v1/jobs/{id}"), ("list_jobs", "GET /v1/jobs?limit=50")):
        small, big = results.cpu_ms.get(case), results.cpu_ms.get(f"{case}_big")
        growth = ratio(big, small)
        small_plan = results.plans.get(f"{case}_small", "").split(",")[0]
        big_plan = results.plans.get(f"{case}_big", "").split(",")[0]
        same_plan = bool(small_plan) and small_plan == big_plan
        targets.append(
            Target(
                f"{label} at {results.rows.get('big', 0):,} rows",
                "same plan, CPU/req ≤ 1.2× at 1k rows",
                (f"{growth:.2f}×" if growth is not None else "n/a")
                + (", same plan" if same_plan else ", plan differs"),
                None if growth is None else growth <= 1.2 and same_plan,
            )
        )
    return targets


def _rss_targets(results: Results) -> list[Target]:
    targets: list[Target] = []
    for proc in ("api", "worker"):
        rss = results.rss.get(proc)
        targets.append(
            Target(
                f"{proc.upper() if proc == 'api' else 'Worker'} RSS after load",
                "< 200 MB",
                f"{fmt(rss)} MB",
                None if rss is None else rss < 200,
            )
        )
    return targets
