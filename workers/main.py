"""The arq worker: job attempts, the webhook dispatcher and the sweep cron, tuned so the queue
is not the bottleneck.

`create_worker(settings)` is used by `scripe-api worker`, by `scripe-api dev` (in process) and by
tests (with a scripted provider registered through `providers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from arq import cron
from arq.worker import Worker, func
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from scripe_api.jobs.queue import RUN_JOB, take_due
from scripe_api.observability.metrics import REGISTRY
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from scripe_api.webhooks.dispatcher import Dispatcher
from workers.context import build_deps
from workers.jobs.purge_idempotency import purge_idempotency
from workers.jobs.purge_uploads import purge_uploads
from workers.jobs.purge_webhooks import purge_webhooks
from workers.jobs.run_job import run_job
from workers.jobs.sweep_jobs import sweep_jobs

logger = logging.getLogger(__name__)
_CLOSE_TIMEOUT_SECONDS = 5.0
# Polling again after the queue was unreachable: soon, then at most once a second.
_REDIS_RETRY_FIRST_SECONDS = 0.1
_REDIS_RETRY_MAX_SECONDS = 1.0
# Expired Idempotency-Key records count as absent anyway; the purge only keeps the table small.
_PURGE_MINUTES = set(range(0, 60, 10))


class _StopPolling(Exception):
    """Ends arq's poll loop at an iteration boundary (never in the middle of a Redis call)."""


class ScripeWorker(Worker):
    """arq's Worker with a graceful stop that does not cancel it mid-command.

    Cancelling arq's main task while it is inside a Redis pipeline can leave the client waiting
    forever; instead polling stops between iterations, running attempts get a grace period, and
    only then are the rest cancelled (their leases expire and the sweep hands them on).
    """

    stop_requested = False

    async def main(self) -> None:
        # Redis unreachable (at start or later): keep the worker and the attempts it runs alive
        # and start polling again; Postgres holds every job, the sweep re-enqueues lost ones.
        delay = _REDIS_RETRY_FIRST_SECONDS
        while True:
            try:
                await super().main()
                return
            except (RedisError, OSError) as error:
                if self.stop_requested:
                    raise _StopPolling() from error
                logger.warning("queue unreachable (%s); retrying", type(error).__name__)
                # Every pooled connection predates the outage: drop them all now rather than
                # meet them one failed poll at a time once Redis is back.
                with contextlib.suppress(RedisError, OSError):
                    await self.pool.connection_pool.disconnect(inuse_connections=False)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _REDIS_RETRY_MAX_SECONDS)

    async def _poll_iteration(self) -> None:
        if self.stop_requested:
            raise _StopPolling()
        await super()._poll_iteration()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's own `start_jobs`, with the entries taken in one round trip for the whole poll
        (see `jobs.queue.take_due`) instead of four per entry: the same checks, atomically."""
        free = self.max_jobs - self.job_counter
        taken = await take_due(self.pool, job_ids, free, round(self.in_progress_timeout_s * 1000))
        for job_id, score in taken:
            await self.sem.acquire()
            self.job_counter += 1
            task = self.loop.create_task(self.run_job(job_id, score))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    async def run_until(self, stop: asyncio.Event, grace_seconds: float) -> None:
        main = asyncio.create_task(self.async_run())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
        self.stop_requested = True
        stopper.cancel()
        with contextlib.suppress(_StopPolling):
            await main
        running = [task for task in self.tasks.values() if not task.done()]
        if running:
            logger.info(
                "worker stopping: %d attempts get %.0f s to finish", len(running), grace_seconds
            )
            await asyncio.wait(running, timeout=grace_seconds)
        try:
            await asyncio.wait_for(self.close(), _CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            logger.warning("worker close timed out; unfinished attempts are left to lease expiry")


async def run_worker(
    settings: Settings,
    *,
    providers: ProviderRegistry | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM, then stop gracefully (`scripe-api worker`).

    `on_ready` runs once the signal handlers are in place: a signal after it stops the worker
    gracefully (one before it still ends the process the default way).
    """
    worker = create_worker(settings, providers=providers, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready()
    metrics_server = None
    if settings.worker_metrics_port is not None:
        # A daemon thread serving this process's registry at any path (GET /metrics).
        metrics_server, _ = start_http_server(settings.worker_metrics_port, registry=REGISTRY)
    try:
        await worker.run_until(stop, settings.worker_shutdown_grace_seconds)
    finally:
        if metrics_server is not None:
            await asyncio.to_thread(metrics_server.shutdown)
            metrics_server.server_close()


def create_worker(
    settings: Settings,
    *,
    providers: ProviderRegistry | None = None,
    handle_signals: bool = True,
    burst: bool = False,
) -> ScripeWorker:
    deps = build_deps(settings, providers)
    dispatcher = Dispatcher(deps.resources)
    deps.webhooks_queued = dispatcher.wake

    async def on_startup(ctx: dict[str, Any]) -> None:
        dispatcher.start()

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await dispatcher.stop()
        await deps.resources.close()

    interval = settings.sweep_interval_seconds
    return ScripeWorker(
        functions=[func(run_job, name=RUN_JOB, max_tries=1_000)],
        cron_jobs=[
            cron(
                sweep_jobs,
                name="sweep_jobs",
                second=set(range(0, 60, interval)),
                run_at_startup=True,
                unique=True,
                timeout=max(interval * 4, 30),
            ),
            cron(
                purge_uploads,
                name="purge_uploads",
                minute=_PURGE_MINUTES,
                second=45,
                unique=True,
                timeout=300,
            ),
            cron(
                purge_webhooks,
                name="purge_webhooks",
                minute=_PURGE_MINUTES,
                second=30,
                unique=True,
                timeout=300,
            ),
            cron(
                purge_idempotency,
                name="purge_idempotency",
                minute=_PURGE_MINUTES,
                second=0,
                unique=True,
                timeout=300,
            ),
        ],
        redis_pool=deps.resources.redis,
        ctx={"deps": deps, "webhooks": dispatcher},
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay_seconds,
        # Postgres holds results; arq keeps none.
        keep_result=0,
        job_timeout=settings.worker_job_timeout_seconds,
        handle_signals=handle_signals,
        job_completion_wait=round(settings.worker_shutdown_grace_seconds),
        burst=burst,
    )
