"""Command-line options of `python -m bench` (see bench/README.md)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATABASE = "scripe_bench"
# Jobs in the workspace for the main HTTP cases (the "big" cases use --big-rows).
BASE_ROWS = 1_000


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


def _build_parser() -> argparse.ArgumentParser:
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
    _add_mode_arguments(parser)
    return parser


def _add_mode_arguments(parser: argparse.ArgumentParser) -> None:
    """What the run does besides measuring: profiles, output, loader, hold, experiments."""
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


def parse_options(argv: Sequence[str] | None) -> Options:
    args = _build_parser().parse_args(argv)
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
