"""Jobs as clients see them: submit, read (with live progress), list, cancel, wait for the end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError, NotFound
from scripe_api.core.filters import parse_csv, parse_date_range
from scripe_api.core.pagination import CursorCodec, Position
from scripe_api.db.base import can_exist
from scripe_api.db.errors import is_database_unavailable
from scripe_api.db.models.job import JOB_STATUSES, JOB_TYPES
from scripe_api.db.pool import Database
from scripe_api.db.transaction import UnitOfWork
from scripe_api.idempotency import service as idempotency
from scripe_api.idempotency.service import KeyedRequest, Policy
from scripe_api.jobs import repository
from scripe_api.jobs.errors import NotCancellable
from scripe_api.jobs.lifecycle import Finished, announce_finished
from scripe_api.jobs.notifications import CompletionHub
from scripe_api.jobs.progress import progress_key, read_progress
from scripe_api.jobs.queue import Queue
from scripe_api.jobs.submission import JobRequest, Submitted, submit
from scripe_api.jobs.views import envelope, with_progress

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"DONE", "FAILED", "CANCELLED"})
# How long a waiter gives the completion subscription to come up before answering at once.
_SUBSCRIBE_WAIT_SECONDS = 0.25


def progress_of(path_params: Any) -> str:
    """The Redis key read with the rate limit of `GET /v1/jobs/{jobId}`."""
    return progress_key(str(path_params["jobId"]))


async def get_job(
    database: Database, principal: Principal, job_id: str, snapshot: bytes | None
) -> bytes:
    """The response body: the job with `snapshot`, its progress read with the rate limit
    (merged while RUNNING)."""
    if not can_exist(job_id):
        raise NotFound(f"Job '{job_id}' was not found.")
    status, document = await _read(database, principal, job_id)
    return _job_envelope(status, document, snapshot)


async def list_jobs(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    *,
    type_filter: str | None,
    status_filter: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int | None,
    cursor: str | None,
    idempotency_key: str | None = None,
    key_window_seconds: float = 0.0,
) -> bytes:
    """A page of the workspace's jobs, newest first, as the response body. With
    `idempotency_key`, the page holds the job that key created (if the other filters keep it),
    or nothing once the key has expired."""
    types = parse_csv(type_filter, JOB_TYPES, "type")
    statuses = parse_csv(status_filter, JOB_STATUSES, "status")
    dates = parse_date_range(date_from, date_to)
    filters: dict[str, Any] = {"type": types, "status": statuses, **dates.as_filter()}
    if idempotency_key:
        filters["idempotencyKey"] = idempotency_key
    # Validates limit and cursor (a cursor is never minted for a key's one-job page, so any
    # cursor sent with idempotencyKey is a bad_cursor).
    request = codec.page_request(limit, cursor, "jobs", principal.workspace_id, filters)
    if idempotency_key:
        async with database.connection(principal.workspace_id) as connection:
            row = await repository.job_by_idempotency_key(
                connection, principal.workspace_id, idempotency_key, key_window_seconds
            )
        kept = row is not None and (
            (not types or row["type"] in types)
            and (not statuses or row["status"] in statuses)
            and (dates.start is None or row["created_at"] >= dates.start)
            and (dates.end is None or row["created_at"] < dates.end)
        )
        return _page([row[0]] if kept and row is not None else [], None)
    after = (request.after.created_at, request.after.id) if request.after else None
    async with database.connection(principal.workspace_id) as connection:
        rows = await repository.list_page(
            connection,
            principal.workspace_id,
            types=types,
            statuses=statuses,
            dates=dates,
            after=after,
            limit=request.limit,
        )
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    next_cursor = None
    if more:
        _, created_at, last_id = rows[-1]
        next_cursor = codec.encode(Position(created_at, last_id), request.filter_hash)
    return _page([row[0] for row in rows], next_cursor)


def _page(documents: list[str], next_cursor: str | None) -> bytes:
    # The documents are JSON already (rendered by Postgres): the page is spliced around them.
    pagination = orjson.dumps(
        {"next_cursor": next_cursor, "has_more": next_cursor is not None}
    ).decode()
    return f'{{"data":[{",".join(documents)}],"pagination":{pagination}}}'.encode()


async def cancel_job(uow: UnitOfWork, redis: Redis, principal: Principal, job_id: str) -> bytes:
    """The response body: the cancelled job; its refund commits with it."""
    connection = await uow.connection()
    row = await repository.cancel(connection, principal.workspace_id, job_id)
    if row is None:
        current = await repository.get(connection, principal.workspace_id, job_id)
        if current is None:
            raise NotFound(f"Job '{job_id}' was not found.")
        raise NotCancellable(
            f"Job is in '{current[repository.STATUS]}'; only QUEUED jobs can be cancelled in v1."
        )
    document: str = row["document"]

    async def announce() -> None:
        # One line per job transition on the console, like the worker's (running, DONE, …).
        logger.info("job %s: cancelled while QUEUED", job_id)
        # A cancelled job is finished too: requests waiting on it answer now.
        await announce_finished(redis, [Finished.of_job(row)])

    uow.after_commit(announce)
    return b'{"data":' + document.encode() + b"}"


async def submit_job(
    database: Database,
    queue: Queue,
    policy: Policy,
    principal: Principal,
    keyed: KeyedRequest | None,
    build: Callable[[], JobRequest],
    request_id: str,
) -> Submitted:
    """Submit the job `build` describes. What `build` refuses (the request alone shows it
    wrong) is recorded on the key like any refusal of the operation (404, 422), after the
    key's own say; a malformed or oversized field (400, 413) never reaches the key (API.md
    §1.5: those checks come before it)."""
    try:
        request = build()
    except AppError as error:
        if keyed is not None and idempotency.is_recorded(error):
            replay = await idempotency.refuse_once(database, policy, keyed, error, request_id)
            if replay is not None:
                return Submitted(replay, None, is_replay=True)
        raise
    return await submit(database, queue, policy, principal, keyed, request, request_id)


async def _read(database: Database, principal: Principal, job_id: str) -> tuple[str, str]:
    row = await database.fetchrow(
        repository.READ_JOB_DOCUMENT, job_id, principal.workspace_id, tenant=principal.workspace_id
    )
    if row is None:
        raise NotFound(f"Job '{job_id}' was not found.")
    return row[0], row[1]


def _job_envelope(status: str, document: str, snapshot: bytes | None) -> bytes:
    if status == "RUNNING" and snapshot is not None:
        return envelope(with_progress(orjson.loads(document), snapshot))
    return b'{"data":' + document.encode() + b"}"


async def wait_for_job(
    database: Database,
    redis: Redis,
    hub: CompletionHub,
    principal: Principal,
    committed: dict[str, Any],
    timeout_ms: int,
) -> bytes:
    """Wait up to `timeout_ms` for the `committed` job to end, event-driven, holding no
    database connection while waiting. Registers before the final read so no completion is
    missed; answers at once when Redis (the notification path) is down or the process shuts
    down. The job is already durable: if the database fails meanwhile, the answer is the last
    state read (at worst `committed`), never an error."""
    try:
        return await _wait(database, redis, hub, principal, committed, timeout_ms)
    except Exception as error:
        # The job is committed and its 202 recorded on the key: whatever went wrong while
        # waiting, the answer is the job as committed, never an error (API.md §3).
        if is_database_unavailable(error):
            logger.warning("sync wait for %s ended early: database unavailable", committed["id"])
        else:
            logger.exception(
                "sync wait for %s failed; answering the committed job", committed["id"]
            )
        return envelope(committed)


async def _wait(
    database: Database,
    redis: Redis,
    hub: CompletionHub,
    principal: Principal,
    committed: dict[str, Any],
    timeout_ms: int,
) -> bytes:
    job_id = committed["id"]
    async with hub.watch(job_id) as finished:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        is_listening = await hub.wait_subscribed(_SUBSCRIBE_WAIT_SECONDS)
        while True:
            # Clear before reading: a notification arriving after the read sets it again.
            finished.clear()
            status, document = await _read(database, principal, job_id)
            remaining = deadline - loop.time()
            if status in TERMINAL_STATUSES or not is_listening or remaining <= 0:
                snapshot = await read_progress(redis, job_id) if status == "RUNNING" else None
                return _job_envelope(status, document, snapshot)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), remaining)
            is_listening = hub.is_listening
