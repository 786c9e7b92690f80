"""The end-to-end floor: raw arq running no-op jobs with the worker's own `max_jobs`/`poll_delay`.

`python -m bench.arq_floor --redis-url … --n N --max-jobs 32 --poll-delay 0.05` enqueues N no-op
jobs on a queue of its own, then (timed) drains them with a burst-mode arq Worker, and prints one
JSON line: {"n", "enqueue_seconds", "drain_seconds", "jobs_per_second"}. Run it in its own process,
on the same Redis as the service, while no other load runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker, func

QUEUE = "bench:arq:queue"
_ENQUEUE_BATCH = 500


async def noop(ctx: dict[str, Any], index: int) -> None:
    """The job: nothing."""


async def _enqueue(redis: ArqRedis, n: int) -> None:
    for start in range(0, n, _ENQUEUE_BATCH):
        await asyncio.gather(
            *(
                redis.enqueue_job("noop", index, _queue_name=QUEUE)
                for index in range(start, min(n, start + _ENQUEUE_BATCH))
            )
        )


async def run(redis_url: str, n: int, max_jobs: int, poll_delay: float) -> dict[str, float]:
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await redis.delete(QUEUE)
        started = time.perf_counter()
        await _enqueue(redis, n)
        enqueued = time.perf_counter()
        worker = Worker(
            functions=[func(noop, name="noop", max_tries=1_000)],
            queue_name=QUEUE,
            redis_pool=redis,
            burst=True,
            handle_signals=False,
            max_jobs=max_jobs,
            poll_delay=poll_delay,
            keep_result=0,
            log_results=False,
        )
        drain_started = time.perf_counter()
        await worker.main()
        drained = time.perf_counter()
        completed = worker.jobs_complete
    finally:
        await redis.aclose()
    drain = drained - drain_started
    return {
        "n": n,
        "completed": completed,
        "enqueue_seconds": enqueued - started,
        "drain_seconds": drain,
        "jobs_per_second": completed / drain if drain > 0 else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.arq_floor")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--max-jobs", type=int, default=32)
    parser.add_argument("--poll-delay", type=float, default=0.05)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.redis_url, args.n, args.max_jobs, args.poll_delay))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
