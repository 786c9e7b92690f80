"""Running one attempt of a job in a worker: claim → heartbeat → work → finish, all by CAS.

The attempt that claimed the job holds it; its finish is conditional on still holding it
(status RUNNING and attempt_count = its attempt), so a job is never completed twice. A worker that
dies simply stops renewing its lease; the sweep hands the job to the next attempt.

Two statements per job when nothing goes wrong: the claim (with everything the work needs) and
the finish (with the outcome, the ledger's settlement and, for a provider that bills nothing,
its call). A paid provider's call adds its own two ledger writes around the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from scripe_api.core.batching import Coalescer
from scripe_api.db.errors import is_database_outage, is_retryable_write
from scripe_api.db.pool import Record
from scripe_api.jobs import events, repository
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.lifecycle import Finished, announce_finished
from scripe_api.jobs.progress import ProgressWriter
from scripe_api.jobs.queue import Delivery, deliver
from scripe_api.observability.metrics import COMPLETION_RETRIES
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.resources import Resources
from scripe_api.uploads.storage import Storage

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class ProjectContext:
    """What generation uses of the project, read with the claim."""

    status: str
    voice_profile: dict[str, Any]
    voice_samples: list[str]
    content_pillars: list[dict[str, str]]


@dataclass(frozen=True)
class ClaimedJob:
    """A job as its attempt's claim read it."""

    id: str
    workspace_id: str
    project_id: str | None
    type: str
    key_mode: str
    input: dict[str, Any]
    created_at: datetime
    # None: the job names no project, or the project is gone.
    project: ProjectContext | None
    has_project: bool
    # The knowledge passages that best match the source (POST_GENERATION).
    passages: list[str]
    # An output a provider was already paid for by an earlier attempt (never paid twice).
    paid_output: dict[str, Any] | None

    @classmethod
    def of(cls, row: Record) -> ClaimedJob:
        project = None
        if row["has_project"]:
            project = ProjectContext(
                status=row["project_status"],
                voice_profile=row["voice_profile"] or {},
                voice_samples=list(row["voice_samples"] or []),
                content_pillars=list(row["content_pillars"] or []),
            )
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            project_id=row["project_id"],
            type=row["type"],
            key_mode=row["key_mode"],
            input=row["input"],
            created_at=row["created_at"],
            project=project,
            has_project=row["has_project"],
            passages=list(row["passages"] or []),
            paid_output=row["paid_output"],
        )


@dataclass(frozen=True)
class Outcome:
    """What a successful attempt writes with its finish (see `repository.finish_statement`):
    CTEs selecting FROM finished, the SQL of the job's result, and their parameters ($8…)."""

    ctes: str = ""
    result_sql: str = "$3::jsonb"
    result: dict[str, Any] | None = None
    params: tuple[Any, ...] = ()
    # A call of a provider that bills nothing, recorded with the finish: {"provider", "model"}.
    free_call: dict[str, str | None] | None = None
    # The webhook events of what `ctes` wrote (see `repository.finish_statement`).
    events: str = ""


# A progress snapshot written with an attempt's end: (key, value, TTL seconds).
ProgressWrite = tuple[str, bytes, int]

Handler = Callable[["WorkerDeps", ClaimedJob, int, Progress], Awaitable[Outcome]]


@dataclass
class WorkerDeps:
    resources: Resources
    providers: ProviderRegistry
    # Where uploaded files are read from.
    storage: Storage
    handlers: dict[str, Handler] = field(default_factory=dict)
    provider_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    # The HTTP session YouTube transcripts are fetched through (None: a new one per fetch).
    youtube_http: requests.Session | None = None
    # Called when a job's end queued webhook deliveries (wakes this process's dispatcher).
    webhooks_queued: Callable[[], None] = field(default=lambda: None)
    # The attempts' claims: those that arrive together (a poll's jobs start together) share
    # one statement.
    claim: Coalescer[tuple[str, int], Record | None] = field(init=False)

    # The attempts' ends announced together (one Redis pipeline), likewise: each with its
    # last progress snapshot and its events not yet logged.
    announce: Coalescer[tuple[Finished, Sequence[ProgressWrite], Sequence[events.Event]], None] = (
        field(init=False)
    )

    def __post_init__(self) -> None:
        self.claim = Coalescer(self._claim_batch)
        self.announce = Coalescer(self._announce_batch)

    async def announce_all(self, finished: Sequence[Finished]) -> None:
        await asyncio.gather(*(self.announce((one, (), ())) for one in finished))

    async def _announce_batch(
        self, ends: Sequence[tuple[Finished, Sequence[ProgressWrite], Sequence[events.Event]]]
    ) -> list[None]:
        await announce_finished(
            self.resources.redis,
            [finished for finished, _, _ in ends],
            [write for _, writes, _ in ends for write in writes],
            [event for _, _, log in ends for event in log],
        )
        return [None] * len(ends)

    async def _claim_batch(self, attempts: Sequence[tuple[str, int]]) -> list[Record | None]:
        # One entry per job in the statement: a second delivery of a job in the same batch
        # would otherwise read the first one's claim as its own.
        first: dict[str, int] = {}
        for index, (job_id, _) in enumerate(attempts):
            first.setdefault(job_id, index)
        async with self.resources.database.connection() as connection:
            rows = await repository.claim_attempts(
                connection,
                [attempts[index] for index in first.values()],
                self.resources.settings.job_lease_seconds,
            )
        # A first attempt not claimed may have missed its deadline: cancelled here, at once
        # (if that fails, the sweep cancels it; the claims above stand either way).
        late = [job_id for job_id, attempt in attempts if attempt == 1 and job_id not in rows]
        expired: Sequence[Record] = ()
        if late:
            try:
                async with self.resources.database.connection() as connection:
                    expired = await repository.expire_overdue(connection, late)
            except Exception:
                logger.exception("jobs %s: deadline check failed; the sweep will do it", late)
        if expired:
            for row in expired:
                logger.info(
                    "job %s: %s not started by its deadline; cancelled", row["id"], row["type"]
                )
            await self.announce_all([Finished.of_job(row) for row in expired])
        return [
            rows.get(job_id) if first[job_id] == index else None
            for index, (job_id, _) in enumerate(attempts)
        ]


def retry_backoff_seconds(deps: WorkerDeps, attempt: int) -> float:
    settings = deps.resources.settings
    return float(
        min(
            settings.job_retry_backoff_seconds * 2 ** (attempt - 1),
            settings.job_retry_backoff_max_seconds,
        )
    )


DATABASE_UNAVAILABLE = JobFailure(
    "internal_error", "The database was unreachable during the last attempt.", transient=True
)
CRASHED = JobFailure("internal_error", "The job failed unexpectedly.", transient=False)
OUTCOME_NOT_SAVED = JobFailure(
    "internal_error",
    "The job's result could not be saved, and retrying would not help.",
    transient=False,
)


@functools.cache
def _finish_sql(ctes: str, result_sql: str, events: str) -> str:
    return repository.finish_statement(ctes, result_sql, events)


async def run_attempt(deps: WorkerDeps, job_id: str, attempt: int) -> str:
    """Run attempt `attempt` of `job_id`; returns what happened (for logs and tests)."""
    settings = deps.resources.settings
    row = await deps.claim((job_id, attempt))
    if row is None:
        # Cancelled, finished, or another attempt holds it: a duplicate delivery is harmless.
        return "skipped"
    job = ClaimedJob.of(row)
    logger.info("job %s: %s attempt %d running", job_id, job.type, attempt)
    progress = ProgressWriter(
        deps.resources.redis, job_id, settings.progress_ttl_seconds, started=row["document"]
    )
    # The lease is renewed for as long as the attempt runs, its finish included.
    lease = _Lease(deps, job_id, attempt)
    work = asyncio.ensure_future(_attempt(deps, job, attempt, progress, lease))
    lease.start(work)
    try:
        return await work
    except asyncio.CancelledError:
        if lease.lost.is_set():
            logger.warning("job %s attempt %d lost its lease; abandoning", job_id, attempt)
            return "lease_lost"
        raise  # shutdown: the lease expires and the sweep hands the job on
    finally:
        await lease.stop()


class _Lease:
    """An attempt's hold on its job, renewed by a heartbeat while the attempt works.

    A renewal that finds the job no longer held means another attempt took over: the work is
    cancelled. Once the attempt has begun its final write (`ending`), such an answer is that
    write's own doing (or the write says it was superseded), so it cancels nothing — not the
    completion's announcement either. Before a retry is deferred the heartbeat stops, so no
    late renewal pushes the next attempt past its backoff.
    """

    def __init__(self, deps: WorkerDeps, job_id: str, attempt: int) -> None:
        self._deps = deps
        self._job_id = job_id
        self._attempt = attempt
        self.ending = False
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, work: asyncio.Future[Any]) -> None:
        self._task = asyncio.create_task(self._beat(work))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self, work: asyncio.Future[Any]) -> None:
        settings = self._deps.resources.settings
        while True:
            await asyncio.sleep(settings.job_heartbeat_seconds)
            try:
                async with self._deps.resources.database.connection() as connection:
                    held = await repository.renew_lease(
                        connection, self._job_id, self._attempt, settings.job_lease_seconds
                    )
            except Exception as error:
                # A database blip: keep working; if it lasts, the lease expires and is lost.
                logger.warning("heartbeat of %s failed: %s", self._job_id, type(error).__name__)
                continue
            if not held:
                if not self.ending:
                    self.lost.set()
                    work.cancel()
                return


async def _attempt(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: ProgressWriter, lease: _Lease
) -> str:
    handler = deps.handlers.get(job.type)
    if handler is None:
        failure = JobFailure(
            "internal_error", f"No worker handles {job.type} jobs yet.", transient=False
        )
        return await _fail(deps, job, attempt, failure, progress, lease)
    try:
        outcome = await handler(deps, job, attempt, progress.report)
    except JobFailure as failure:
        return await _fail(deps, job, attempt, failure, progress, lease)
    except Exception as error:
        if is_database_outage(error):
            # An outage is not the job's fault: retry it like a lost worker. If the database
            # is still down, this write fails too, and the lease expiry hands the job on.
            logger.warning(
                "job %s attempt %d: database unreachable (%s)",
                job.id,
                attempt,
                type(error).__name__,
            )
            return await _fail(deps, job, attempt, DATABASE_UNAVAILABLE, progress, lease)
        logger.exception("job %s attempt %d crashed", job.id, attempt)
        return await _fail(deps, job, attempt, CRASHED, progress, lease)
    return await _complete_or_retry(deps, job, attempt, outcome, progress, lease)


async def _complete_or_retry(
    deps: WorkerDeps,
    job: ClaimedJob,
    attempt: int,
    outcome: Outcome,
    progress: ProgressWriter,
    lease: _Lease,
) -> str:
    """Save the outcome. A transient failure of the saving statement (a lock or statement
    timeout, a serialization failure, an outage) retries the saving, with the work already
    done — never the work itself; past the budget the attempt is left to lease expiry, and the
    next attempt reuses a paid provider output from the ledger. A failure retrying cannot fix
    fails the job, once."""
    settings = deps.resources.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.job_completion_retry_seconds
    delay = settings.job_retry_backoff_seconds
    lease.ending = True
    while True:
        try:
            return await _finish(deps, job, attempt, progress, "DONE", outcome)
        except Exception as error:
            if not is_retryable_write(error):
                logger.exception(
                    "job %s attempt %d: its outcome could not be saved", job.id, attempt
                )
                return await _fail(deps, job, attempt, OUTCOME_NOT_SAVED, progress, lease)
            COMPLETION_RETRIES.inc()
            if loop.time() + delay > deadline:
                logger.warning(
                    "job %s attempt %d: saving its outcome kept failing (%s); left to lease expiry",
                    job.id,
                    attempt,
                    type(error).__name__,
                )
                return "completion_abandoned"
            logger.warning(
                "job %s attempt %d: saving its outcome failed (%s); retrying in %.2f s",
                job.id,
                attempt,
                type(error).__name__,
                delay,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.job_retry_backoff_max_seconds)


async def _finish(
    deps: WorkerDeps,
    job: ClaimedJob,
    attempt: int,
    progress: ProgressWriter,
    status: str,
    outcome: Outcome,
    failure: JobFailure | None = None,
) -> str:
    statement = _finish_sql(outcome.ctes, outcome.result_sql, outcome.events)
    async with deps.resources.database.connection() as connection:
        row = await connection.fetchrow(
            statement,
            job.id,
            attempt,
            outcome.result,
            status,
            failure.code if failure else None,
            failure.message if failure else None,
            outcome.free_call,
            *outcome.params,
        )
    if row is None:
        return "superseded"
    if row["webhooks"]:
        deps.webhooks_queued()
    finished = Finished.of_job(row)
    elapsed = finished.completed_at - finished.created_at if finished.completed_at else None
    logger.info(
        "job %s: %s %s after %.1f s (attempt %d)%s",
        job.id,
        job.type,
        status,
        elapsed.total_seconds() if elapsed else 0.0,
        attempt,
        f" {failure.code}" if failure else "",
    )
    pending = progress.take_pending()
    writes = [] if pending is None else [(progress.key, pending, progress.ttl_seconds)]
    await deps.announce((finished, writes, progress.take_events(pending)))
    return "done" if status == "DONE" else "failed"


async def _fail(
    deps: WorkerDeps,
    job: ClaimedJob,
    attempt: int,
    failure: JobFailure,
    progress: ProgressWriter,
    lease: _Lease,
) -> str:
    settings = deps.resources.settings
    lease.ending = True
    if failure.transient and attempt < settings.job_max_attempts:
        backoff = retry_backoff_seconds(deps, attempt)
        await lease.stop()  # a renewal after the deferral would undo its backoff
        async with deps.resources.database.connection() as connection:
            deferred = await repository.defer_next_attempt(connection, job.id, attempt, backoff)
        if not deferred:
            return "superseded"
        logger.info(
            "job %s: attempt %d failed (%s), attempt %d in %.1f s",
            job.id,
            attempt,
            failure.code,
            attempt + 1,
            backoff,
        )
        # The job stays RUNNING: its last progress stays visible until the next attempt.
        await progress.flush()
        await deliver(deps.resources.redis, [Delivery(job.id, attempt + 1, backoff)])
        return "retrying"
    return await _finish(deps, job, attempt, progress, "FAILED", Outcome(), failure)
