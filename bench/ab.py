"""A/B of candidate optimisations (bench/experiments.py) on the HTTP cases, interleaved so the
machine's noise hits every variant alike: `python -m bench.ab "none" "uvloop,async_services" …`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

from bench import loads
from bench.console import say
from bench.harness import Bench
from bench.loads import LoadResult, Request
from bench.options import BASE_ROWS, parse_options


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab")
    parser.add_argument("variants", nargs="+", help="comma-separated experiment names each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--cases", default="get_job,list_jobs,post_generation")
    args = parser.parse_args(argv)
    bench = Bench(
        parse_options(["--duration", str(args.duration), "--warmup", "1", "--output", "-"])
    )
    results: dict[str, dict[str, list[LoadResult]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    try:
        # The default options: the auto loader, installing wrk when it is missing.
        bench.prepare()
        bench.api = bench.services.start_api("")
        worker = bench.services.start_worker()
        seeded = loads.run_submitter(
            bench.base_url, bench.tenant.key, bench.tenant.project_id, n=60, connections=8
        )
        if seeded["statuses"] != {"202": 60}:
            raise RuntimeError(f"seeding jobs failed: {seeded['statuses']}\n{bench.api.tail()}")
        time.sleep(3)
        worker.stop()
        bench.api.stop()
        bench.db.add_rows(BASE_ROWS, bench.tenant)
        job_id = bench.db.sql("SELECT id FROM jobs WHERE status = 'DONE' LIMIT 1")[0]["id"]
        headers = loads.auth_headers(bench.tenant.key)
        requests = {
            "floor": Request("GET", "/floor", {}),
            "get_job": Request("GET", f"/v1/jobs/{job_id}", headers),
            "list_jobs": Request("GET", "/v1/jobs?limit=50", headers),
            "post_generation": Request(
                "POST",
                "/v1/posts/generations",
                {**headers, "Content-Type": "application/json"},
                body=loads.generation_body(bench.tenant.project_id),
                unique_idempotency_key=True,
            ),
        }
        cases = args.cases.split(",")
        for round_ in range(args.rounds):
            for variant in args.variants:
                api = bench.services.start_api(variant)
                try:
                    for case in cases:
                        result = bench.meter.load(requests[case], api)
                        results.setdefault(variant, {}).setdefault(case, []).append(result)
                        cpu.setdefault(variant, {}).setdefault(case, []).append(
                            bench.meter.last_cpu_ms
                        )
                        say(
                            f"round {round_ + 1} {variant or 'none'} {case}: {result.rps:,.0f} "
                            f"req/s p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} "
                            f"errors {result.errors} non-2xx {result.non_2xx} "
                            f"CPU {bench.meter.last_cpu_ms:.2f} ms/req"
                        )
                finally:
                    api.stop()
    finally:
        bench.cleanup()
    print(
        "| variant | "
        + " | ".join(f"{c} req/s (median) | p99 ms | CPU ms/req" for c in cases)
        + " |"
    )
    print("|---|" + "---:|---:|---:|" * len(cases))
    for variant, by_case in results.items():
        cells = []
        for case in cases:
            runs = by_case.get(case, [])
            cells.append(
                f"{statistics.median(r.rps for r in runs):,.0f} "
                f"({', '.join(f'{r.rps:,.0f}' for r in runs)})"
            )
            cells.append(f"{statistics.median(r.p99_ms for r in runs):.1f}")
            cells.append(f"{statistics.median(cpu[variant][case]):.2f}")
        print(f"| {variant or 'none'} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
