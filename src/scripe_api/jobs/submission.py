"""Submitting a job: one statement, then one enqueue.

`scripe_submit_job` (a Postgres function, migration 0006) claims the Idempotency-Key, checks
the project (and note), the schedule and the spend cap, inserts the job and its reservation and
records the response on the key — one transaction in one round trip. A concurrent duplicate of
a keyed request waits on the key's row for those few milliseconds, then gets the recorded
response. The enqueue (one Lua round trip) comes after the commit; a lost one is the sweep's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import AppError, NotFound, Unprocessable, error_body
from scripe_api.core.ids import new_id
from scripe_api.db.base import can_exist
from scripe_api.db.pool import Database
from scripe_api.idempotency import repository as records
from scripe_api.idempotency.errors import IdempotencyKeyConflict, IdempotencyKeyInUse
from scripe_api.idempotency.service import KeyedRequest, Policy, StoredResponse
from scripe_api.jobs.queue import Delivery, Queue
from scripe_api.jobs.views import envelope, queued_document
from scripe_api.observability.metrics import SPEND_RESERVED_CENTS
from scripe_api.spend.errors import SpendCapExceeded
from scripe_api.uploads.errors import UploadConsumed, UploadNotCompleted

SUBMIT_JOB = """
SELECT outcome, token, response_status, response_body, response_headers, bucket_date,
       spent_cents
  FROM scripe_submit_job($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                         $16, $17, $18, $19, $20, $21)
"""
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class JobRequest:
    """What a job-submitting endpoint asks for, validated."""

    job_type: str
    project_id: str | None
    input: dict[str, Any]
    estimated_completion_ms: int | None
    note_id: str | None = None
    scheduled_for: datetime | None = None
    # Reserved against the daily cap (0: the job calls no paid provider), and the cap.
    reserve_cents: int = 0
    cap_cents: int | None = None
    # `Cancel-After`: seconds after submit by which the job must have started.
    cancel_after_seconds: int | None = None
    # An upload the job consumes (its bytes are the job's input), and a source it starts from.
    upload_id: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The answer as of the submit's commit. `job` is None for a replayed response."""

    response: StoredResponse
    job: dict[str, Any] | None
    is_replay: bool


async def submit(
    database: Database,
    queue: Queue,
    policy: Policy,
    principal: Principal,
    keyed: KeyedRequest | None,
    request: JobRequest,
    request_id: str,
) -> Submitted:
    """Submit the job (or replay its key). Raises the API's errors: 404, 409, 422, 402."""
    job_id = new_id("job")
    created_at = utc_now()
    project_id = _existing(request.project_id)
    document = queued_document(
        job_id=job_id,
        job_type=request.job_type,
        # An id no row can hold is answered 404 below: this body is never sent then.
        project_id=project_id,
        estimated_completion_ms=request.estimated_completion_ms,
        created_at=created_at,
        reserved_cents=0 if principal.is_test else request.reserve_cents,
        cancel_after_seconds=request.cancel_after_seconds,
    )
    body = envelope(document)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.wait_seconds
    while True:
        async with database.connection(principal.workspace_id) as connection:
            row = await connection.fetchrow(
                SUBMIT_JOB,
                principal.workspace_id,
                keyed.key.scope if keyed else None,
                keyed.key.key if keyed else None,
                keyed.fingerprint if keyed else None,
                policy.lock_seconds,
                policy.window_seconds,
                job_id,
                request.job_type,
                principal.mode,
                project_id,
                _existing(request.note_id),
                request.input,
                request.scheduled_for,
                request.estimated_completion_ms,
                created_at,
                0 if principal.is_test else request.reserve_cents,
                request.cap_cents,
                body.decode(),
                request.cancel_after_seconds,
                _existing(request.upload_id),
                _existing(request.source_id),
            )
        assert row is not None
        outcome = row["outcome"]
        if outcome != "in_use":
            break
        # Held by a request still running (or one that died, until its lock expires): look
        # again shortly, holding no connection meanwhile.
        if loop.time() >= deadline:
            raise IdempotencyKeyInUse()
        await asyncio.sleep(min(policy.poll_seconds, deadline - loop.time()))
    if outcome == "created":
        if request.reserve_cents and not principal.is_test:
            SPEND_RESERVED_CENTS.inc(request.reserve_cents)
        # Never before commit: a worker must find the row. A lost enqueue is the sweep's job.
        await queue.deliver(Delivery(job_id, 1))
        return Submitted(StoredResponse(202, body, JSON_HEADERS), document, is_replay=False)
    if outcome == "replay":
        stored = StoredResponse(
            row["response_status"],
            row["response_body"].encode(),
            dict(row["response_headers"] or JSON_HEADERS),
        )
        return Submitted(stored, None, is_replay=True)
    if outcome == "conflict":
        raise IdempotencyKeyConflict()
    if outcome == "spend_cap":
        raise _spend_cap(request, row["bucket_date"], int(row["spent_cents"]))
    error = _refusal(outcome, request)
    if keyed is not None:
        # A 404 or 422 is the request's own outcome: recorded, so a retry gets it back.
        stored = StoredResponse(error.status_code, error_body(error, request_id), JSON_HEADERS)
        async with database.connection(principal.workspace_id) as connection:
            await records.complete(
                connection,
                keyed.key,
                row["token"],
                status=stored.status,
                body=stored.body.decode(),
                headers=stored.headers,
            )
    raise error


def _existing(identifier: str | None) -> str | None:
    """An id as the lookup takes it: one no row can hold (NUL, a lone surrogate) becomes one
    that matches nothing, rather than a driver error."""
    if identifier is None or can_exist(identifier):
        return identifier
    return ""


def _refusal(outcome: str, request: JobRequest) -> AppError:
    if outcome == "project_not_found":
        return NotFound(f"Project '{request.project_id}' was not found.")
    if outcome == "note_unknown":
        return Unprocessable(
            f"source.noteId '{request.note_id}' is not a note of project '{request.project_id}'.",
            details={"field": "source.noteId"},
        )
    if outcome == "source_unknown":
        return Unprocessable(
            f"source.sourceId '{request.source_id}' is not a processed source of project "
            f"'{request.project_id}'.",
            details={"field": "source.sourceId"},
        )
    if outcome == "upload_not_found":
        return NotFound(f"Upload '{request.upload_id}' was not found.")
    if outcome == "upload_consumed":
        return UploadConsumed(
            f"Upload '{request.upload_id}' was already used by another source or document."
        )
    if outcome == "upload_not_completed":
        return UploadNotCompleted(
            f"Upload '{request.upload_id}' has not received its bytes yet: PUT them to its "
            "uploadUrl first."
        )
    if outcome == "schedule_past":
        return Unprocessable(
            "scheduledFor must be in the future.", details={"field": "scheduledFor"}
        )
    raise RuntimeError(f"unexpected submit outcome {outcome!r}")


def _spend_cap(request: JobRequest, bucket_date: date, spent: int) -> SpendCapExceeded:
    cap = request.cap_cents
    return SpendCapExceeded(
        f"Daily AI spend cap reached ({spent}¢ of {cap}¢). Resets at 00:00 UTC.",
        meta={
            "bucketDate": bucket_date.isoformat(),
            "capCents": cap,
            "spentCents": spent,
            "estimateCents": request.reserve_cents,
        },
    )
