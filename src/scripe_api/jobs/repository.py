"""SQL for jobs, prepared once per connection; every statement is one round trip.

Every state change is a compare-and-set: it names the state it expects and returns the row only
when it won, so concurrent claims, cancels and sweeps cannot both win. Reads are scoped to the
workspace (a foreign id is simply not found). Each statement says which guarantee it carries:

- READ_JOB / list_statement: a job, or a keyset page of jobs, as columns `JOB_COLUMNS`.
- CANCEL_JOB: QUEUED → CANCELLED; the reservation is refunded in the same statement (settled
  exactly once: `spend_reservations.reconciled_at` is set by the first settlement only).
- CLAIM_ATTEMPTS: start attempt n — QUEUED → RUNNING for the first, or take over a RUNNING job
  whose attempt n-1's lease (or retry backoff) expired — and read everything the attempt needs
  (the project's voice, the knowledge passages that best match the source, an output a
  provider was already paid for) in the same statement; for a batch of jobs at once (the
  worker's claims that arrive together share one round trip).
- RENEW_LEASE: the heartbeat, only while the attempt still holds the job.
- DEFER_ATTEMPT: after a transient failure the job stays RUNNING; attempt n+1 may claim it once
  the backoff has passed (the lease column then means "not before").
- finish_statement: RUNNING → DONE/FAILED for the attempt that holds the job, the outcome (a
  post, a document), the spend settlement and the webhook events (outbox) in the same
  statement: all or nothing, once.
- FAIL_EXHAUSTED: the worker of the last allowed attempt died: FAILED attempts_exhausted (and
  its `job.failed` event).
- SWEEP_CANDIDATES: under the sweep's advisory lock, the expired leases and the QUEUED jobs
  whose enqueue may have been lost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from scripe_api.core.filters import DateRange
from scripe_api.db.base import NOW_MS, can_exist, timestamp_sql
from scripe_api.db.models.job import JOB_TYPES
from scripe_api.db.pool import Connection, Record
from scripe_api.providers.vocabulary import STOPWORDS
from scripe_api.spend.repository import SETTLE_FINISHED
from scripe_api.webhooks.outbox import job_end_source, outbox_ctes

# One sweep at a time across all workers (pg_try_advisory_xact_lock key).
SWEEP_LOCK_KEY = 0x5C819E

JOB_COLUMNS = (
    "id, type, status, project_id, started_at, completed_at, result, error_code, "
    "error_message, attempt_count, estimated_completion_ms, created_at, updated_at"
)
# Positions in JOB_COLUMNS (rows are read by index: the fastest way out of a record).
(
    ID,
    TYPE,
    STATUS,
    PROJECT_ID,
    STARTED_AT,
    COMPLETED_AT,
    RESULT,
    ERROR_CODE,
    ERROR_MESSAGE,
    ATTEMPT_COUNT,
    ESTIMATED_COMPLETION_MS,
    CREATED_AT,
    UPDATED_AT,
) = range(13)


# What a job costs (EVENTS.md §2), from its spend reservation: `reserved` while it holds one,
# `final` once settled (actualCents from the ledger), `none` when nothing was reserved (test
# keys, jobs that call no paid provider).
NO_COST = """json_build_object('estimatedCents', 0, 'reservedCents', 0, 'actualCents', NULL,
                          'state', 'none')"""
JOB_COST = f"""coalesce((SELECT json_build_object(
        'estimatedCents', r.estimate_cents,
        'reservedCents', CASE WHEN r.reconciled_at IS NULL THEN r.estimate_cents ELSE 0 END,
        'actualCents', CASE WHEN r.reconciled_at IS NULL THEN NULL ELSE r.actual_cents END,
        'state', CASE WHEN r.reconciled_at IS NULL THEN 'reserved' ELSE 'final' END)
      FROM spend_reservations r WHERE r.job_id = j.id), {NO_COST})"""
# The cost of a job its own statement settles (CTE `settled`): that statement cannot see its
# own update of the reservation.
SETTLED_COST = f"""coalesce((SELECT json_build_object(
        'estimatedCents', s.estimate_cents, 'reservedCents', 0,
        'actualCents', s.actual_cents, 'state', 'final') FROM settled s WHERE s.job_id = j.id),
    {NO_COST})"""


def job_document(cost: str = JOB_COST) -> str:
    """A job (alias `j`) as the API's Job object, rendered to JSON text by Postgres: reads send
    it as is (progress, null here, is merged only while RUNNING). Same shape as
    `views.queued_document`."""
    return f"""(SELECT row_to_json(d)::text FROM (SELECT
    j.id, j.type, j.status, j.project_id AS "projectId",
    {timestamp_sql("j.started_at")} AS "startedAt",
    {timestamp_sql("j.completed_at")} AS "completedAt",
    NULL::json AS progress, j.result, j.error_code AS "errorCode",
    j.error_message AS "errorMessage", j.attempt_count AS "attemptCount",
    j.estimated_completion_ms AS "estimatedCompletionMs",
    {timestamp_sql("j.deadline_at")} AS "deadlineAt", {cost} AS cost,
    json_build_object('get', '/v1/jobs/' || j.id, 'cancel', '/v1/jobs/' || j.id || '/cancel',
                      'events', '/v1/jobs/' || j.id || '/events') AS urls,
    {timestamp_sql("j.created_at")} AS "createdAt",
    {timestamp_sql("j.updated_at")} AS "updatedAt") d)"""


JOB_DOCUMENT = job_document()
# The document of a job its own statement just ended (CTE `finished`, aliased `j`, with the
# settlement `settled`): what the end's `status` and `done` events carry.
ENDED_DOCUMENT = job_document(SETTLED_COST)
# The webhook events of a job's end (`job.completed`, `job.failed`, `knowledge.indexed`), written
# by the statement that ends it.
JOB_END_EVENTS = job_end_source(ENDED_DOCUMENT)
JOB_END_OUTBOX = outbox_ctes(JOB_END_EVENTS)

# The columns a finished job reports back (metrics, notifications).
FINISHED_COLUMNS = "id, workspace_id, type, status, created_at, completed_at"
FINISHED_COLUMNS_OF_J = "j.id, j.workspace_id, j.type, j.status, j.created_at, j.completed_at"

READ_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND workspace_id = $2"
# The job exists in the workspace (else no row), and the database clock (stream tokens' expiry).
JOB_CLOCK = "SELECT now() FROM jobs WHERE id = $1 AND workspace_id = $2"
# The job's status and its document.
READ_JOB_DOCUMENT = f"""
SELECT j.status, {JOB_DOCUMENT} FROM jobs j WHERE j.id = $1 AND j.workspace_id = $2
"""

INSERT_JOB = """
INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input, attempt_count,
                  estimated_completion_ms, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'QUEUED', $5, $6, 0, $7, $8, $8)
"""

CANCEL_JOB = f"""
WITH finished AS (
    UPDATE jobs SET status = 'CANCELLED', completed_at = {NOW_MS}, updated_at = {NOW_MS}
     WHERE workspace_id = $1 AND id = $2 AND status = 'QUEUED'
    RETURNING *
), {SETTLE_FINISHED}
SELECT {FINISHED_COLUMNS_OF_J}, {ENDED_DOCUMENT} AS document,
       (SELECT actual_cents FROM settled) AS charged
  FROM finished j
"""

# Words the knowledge ranking ignores (they would match nearly every passage).
_STOPWORDS = sorted(STOPWORDS)

# Claims a batch of attempts ($1 job ids, $2 their attempt numbers; one entry per job): each
# row returned is an attempt that now holds its job, with everything its work needs.
CLAIM_ATTEMPTS = f"""
WITH claimed AS (
    UPDATE jobs j
       SET status = 'RUNNING', attempt_count = w.attempt,
           lease_expires_at = now() + make_interval(secs => $3),
           started_at = CASE WHEN w.attempt = 1 THEN {NOW_MS} ELSE j.started_at END,
           updated_at = {NOW_MS}
      FROM unnest($1::text[], $2::int[]) AS w(id, attempt)
     WHERE j.id = w.id
       AND ((j.status = 'QUEUED' AND w.attempt = 1
             AND (j.deadline_at IS NULL OR j.deadline_at > now()))
            OR (j.status = 'RUNNING' AND j.attempt_count = w.attempt - 1
                AND j.lease_expires_at < now()))
    RETURNING j.*
)
SELECT c.id, c.attempt_count, c.workspace_id, c.project_id, c.type, c.key_mode, c.input,
       c.created_at, p.id IS NOT NULL AS has_project, p.status AS project_status,
       p.voice_profile, p.voice_samples, p.content_pillars,
       ARRAY(SELECT k.content
               FROM kb_chunks k,
                    -- The source's distinct words as Postgres' own parser splits them (the way
                    -- the passages were indexed), longest first: any of them may match (OR).
                    (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | '))
                            AS query
                       FROM (SELECT lexeme
                               FROM unnest(to_tsvector('simple', c.input #>> '{{source,text}}'))
                              WHERE c.type = 'POST_GENERATION' AND length(lexeme) >= 3
                                AND lexeme <> ALL($4::text[])
                              ORDER BY length(lexeme) DESC, lexeme
                              LIMIT 64) l) words
              WHERE p.id IS NOT NULL AND k.workspace_id = c.workspace_id
                AND (k.project_id = c.project_id OR k.project_id IS NULL)
                AND k.search @@ words.query
              ORDER BY ts_rank(k.search, words.query) DESC, k.document_id, k.position
              LIMIT 3) AS passages,
       (SELECT pc.output FROM provider_calls pc
         WHERE pc.job_id = c.id AND pc.state = 'completed' AND pc.output IS NOT NULL
         ORDER BY pc.id DESC LIMIT 1) AS paid_output,
       -- The job as it starts running: its `status` event.
       (SELECT {JOB_DOCUMENT} FROM claimed j WHERE j.id = c.id) AS document
  FROM claimed c
  LEFT JOIN projects p ON p.id = c.project_id AND p.workspace_id = c.workspace_id
"""

# QUEUED → CANCELLED (deadline_exceeded) for jobs past their `Cancel-After` deadline, refunded
# in the same statement: those of $1 (ids a claim found late), or (no ids) the sweep's $2
# oldest. A job that started in time is never touched (v1 does not interrupt running work).
EXPIRE_OVERDUE = f"""
WITH finished AS (
    UPDATE jobs
       SET status = 'CANCELLED', error_code = 'deadline_exceeded',
           error_message = 'The job was not started before its deadline (Cancel-After).',
           completed_at = {NOW_MS}, updated_at = {NOW_MS}
     WHERE id IN (SELECT o.id FROM jobs o
                   WHERE o.status = 'QUEUED' AND o.deadline_at IS NOT NULL
                     AND o.deadline_at <= now()
                     AND (cardinality($1::text[]) = 0 OR o.id = ANY($1::text[]))
                   ORDER BY o.deadline_at LIMIT $2)
       AND status = 'QUEUED' AND deadline_at <= now()
    RETURNING *
), {SETTLE_FINISHED}
SELECT {FINISHED_COLUMNS_OF_J}, {ENDED_DOCUMENT} AS document,
       (SELECT s.actual_cents FROM settled s WHERE s.job_id = j.id) AS charged
  FROM finished j
"""

_HELD = "id = $1 AND status = 'RUNNING' AND attempt_count = $2"

# A heartbeat is bookkeeping, not a change a client sees: `updated_at` stays.
RENEW_LEASE = f"""
UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3) WHERE {_HELD} RETURNING id
"""

DEFER_ATTEMPT = f"""
UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3), updated_at = {NOW_MS}
 WHERE {_HELD} RETURNING id
"""


FAIL_EXHAUSTED = f"""
WITH finished AS (
    UPDATE jobs
       SET status = 'FAILED', error_code = 'attempts_exhausted',
           error_message = 'The job''s worker was lost on all ' || $2 || ' attempts.',
           lease_expires_at = NULL, completed_at = {NOW_MS}, updated_at = {NOW_MS}
     WHERE {_HELD} AND lease_expires_at < now()
    RETURNING *
), {SETTLE_FINISHED}, {JOB_END_OUTBOX}
SELECT {FINISHED_COLUMNS_OF_J}, {ENDED_DOCUMENT} AS document,
       (SELECT actual_cents FROM settled) AS charged
  FROM finished j
"""

# The lock only spares a second sweep the same work: every repair is safe twice (claims and
# finishes are compare-and-sets, an attempt already on the queue is not enqueued again).
SWEEP_CANDIDATES = """
WITH sweep AS (SELECT pg_try_advisory_xact_lock($3) AS is_ours)
SELECT id, attempt_count, status FROM (
    (SELECT id, attempt_count, status FROM jobs
      WHERE status = 'RUNNING' AND lease_expires_at < now()
      ORDER BY lease_expires_at LIMIT $1)
    UNION ALL
    (SELECT id, attempt_count, status FROM jobs
      WHERE status = 'QUEUED' AND created_at < now() - make_interval(secs => $2)
      ORDER BY created_at LIMIT $1)
) candidates, sweep
WHERE sweep.is_ours
"""

MEDIAN_DURATIONS = """
SELECT type, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
FROM (
    SELECT t.type, d.duration_ms
    FROM unnest($1::text[]) AS t(type)
    CROSS JOIN LATERAL (
        -- created_at comes from the API host, completed_at from the database clock: a tiny
        -- skew must not make a fast job last less than nothing.
        SELECT GREATEST(EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000, 0) AS duration_ms
        FROM jobs
        WHERE type = t.type AND status = 'DONE' AND key_mode = 'live'
        ORDER BY completed_at DESC
        LIMIT $2
    ) d
) recent
GROUP BY type
"""


async def get(connection: Connection, workspace_id: str, job_id: str) -> Record | None:
    if not can_exist(job_id):
        return None
    row: Record | None = await connection.fetchrow(READ_JOB, job_id, workspace_id)
    return row


@functools.cache
def list_statement(*, types: bool, statuses: bool, start: bool, end: bool, after: bool) -> str:
    """The keyset page query for one combination of filters (each its own prepared statement,
    so each gets its own plan): `(workspace_id, created_at DESC, id DESC)` answers all of them.
    Rows: the job's document, and its position (created_at, id).

    Parameters: $1 workspace, $2 limit + 1, $3 types, $4 statuses, $5 start, $6 end,
    $7 after created_at, $8 after id (unused ones are passed as null and never referenced).
    """
    conditions = ["j.workspace_id = $1"]
    if types:
        conditions.append("j.type = ANY($3::text[])")
    if statuses:
        conditions.append("j.status = ANY($4::text[])")
    if start:
        conditions.append("j.created_at >= $5")
    if end:
        conditions.append("j.created_at < $6")
    if after:
        conditions.append("(j.created_at, j.id) < ($7, $8)")
    referenced = {"$3": types, "$4": statuses, "$5": start, "$6": end, "$7": after}
    # Every parameter must appear for asyncpg to know its type: unused ones as a no-op.
    unused = " ".join(
        f"AND {name}::{kind} IS NULL"
        for name, kind in (
            ("$3", "text[]"),
            ("$4", "text[]"),
            ("$5", "timestamptz"),
            ("$6", "timestamptz"),
            ("$7", "timestamptz"),
        )
        if not referenced[name]
    )
    if not after:
        unused += " AND $8::text IS NULL"
    return (
        f"SELECT {JOB_DOCUMENT}, j.created_at, j.id FROM jobs j "
        f"WHERE {' AND '.join(conditions)} {unused} "
        "ORDER BY j.created_at DESC, j.id DESC LIMIT $2"
    )


# The operations whose Idempotency-Key creates a job (records are scoped by method + template).
SUBMITTING_SCOPES = ("POST /v1/posts/generations", "POST /v1/knowledge")

# The job an Idempotency-Key created (its recorded 202 names it), while the key is replayed:
# a client that lost a submit's response finds the job without submitting again.
JOB_BY_IDEMPOTENCY_KEY = f"""
SELECT {JOB_DOCUMENT}, j.created_at, j.id, j.type, j.status
  FROM idempotency_records r
  -- The recorded body is kept verbatim, as a JSON string: its text parsed names the job.
  JOIN jobs j ON j.workspace_id = r.workspace_id
             AND j.id = (r.response_body #>> '{{}}')::jsonb -> 'data' ->> 'id'
 WHERE r.workspace_id = $1 AND r.key = $2 AND r.scope = ANY($3::text[])
   AND r.state = 'completed' AND r.response_status = 202
   AND r.created_at > now() - make_interval(secs => $4)
 ORDER BY r.created_at DESC
 LIMIT 1
"""


async def job_by_idempotency_key(
    connection: Connection, workspace_id: str, key: str, window_seconds: float
) -> Record | None:
    """(document, created_at, id, type, status) of the job `key` created, if still replayed."""
    if not can_exist(key):
        return None
    row: Record | None = await connection.fetchrow(
        JOB_BY_IDEMPOTENCY_KEY, workspace_id, key, list(SUBMITTING_SCOPES), window_seconds
    )
    return row


async def list_page(
    connection: Connection,
    workspace_id: str,
    *,
    types: list[str] | None,
    statuses: list[str] | None,
    dates: DateRange,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Record]:
    """Up to `limit + 1` jobs (document, created_at, id), newest first (one more than a page
    tells whether more follow)."""
    statement = list_statement(
        types=bool(types),
        statuses=bool(statuses),
        start=dates.start is not None,
        end=dates.end is not None,
        after=after is not None,
    )
    rows: list[Record] = await connection.fetch(
        statement,
        workspace_id,
        limit + 1,
        types,
        statuses,
        dates.start,
        dates.end,
        after[0] if after else None,
        after[1] if after else None,
    )
    return rows


async def cancel(connection: Connection, workspace_id: str, job_id: str) -> Record | None:
    """QUEUED → CANCELLED and its refund; None when the job is not QUEUED (or not found)."""
    if not can_exist(job_id):
        return None
    row: Record | None = await connection.fetchrow(CANCEL_JOB, workspace_id, job_id)
    return row


async def claim_attempts(
    connection: Connection, attempts: Sequence[tuple[str, int]], lease_seconds: float
) -> dict[str, Record]:
    """Claim (job id, attempt) pairs, one per job; the rows of those claimed, by job id."""
    rows = await connection.fetch(
        CLAIM_ATTEMPTS,
        [job_id for job_id, _ in attempts],
        [attempt for _, attempt in attempts],
        lease_seconds,
        _STOPWORDS,
    )
    return {row["id"]: row for row in rows}


async def expire_overdue(
    connection: Connection, job_ids: Sequence[str] = (), limit: int = 1000
) -> Sequence[Record]:
    """Cancel the QUEUED jobs past their deadline (those of `job_ids`, or any); the rows ended."""
    rows: Sequence[Record] = await connection.fetch(
        EXPIRE_OVERDUE, list(job_ids), len(job_ids) or limit
    )
    return rows


async def renew_lease(
    connection: Connection, job_id: str, attempt: int, lease_seconds: float
) -> bool:
    return await connection.fetchval(RENEW_LEASE, job_id, attempt, lease_seconds) is not None


async def defer_next_attempt(
    connection: Connection, job_id: str, attempt: int, backoff_seconds: float
) -> bool:
    return await connection.fetchval(DEFER_ATTEMPT, job_id, attempt, backoff_seconds) is not None


async def fail_exhausted(connection: Connection, job_id: str, attempt: int) -> Record | None:
    row: Record | None = await connection.fetchrow(FAIL_EXHAUSTED, job_id, attempt)
    return row


async def sweep_candidates(
    connection: Connection, limit: int, queued_grace_seconds: float
) -> Sequence[Record]:
    """Expired leases and stale QUEUED jobs; nothing when another sweep is reading them."""
    rows: list[Record] = await connection.fetch(
        SWEEP_CANDIDATES, limit, queued_grace_seconds, SWEEP_LOCK_KEY
    )
    return rows


async def median_durations_ms(connection: Connection, sample: int) -> dict[str, int]:
    """Per type: median submit→completion of the last `sample` DONE live-key jobs."""
    rows = await connection.fetch(MEDIAN_DURATIONS, list(JOB_TYPES), sample)
    return {row[0]: round(row[1]) for row in rows if row[1] is not None}


def finish_statement(outcome: str = "", result: str = "$3::jsonb", events: str = "") -> str:
    """RUNNING → DONE/FAILED for the attempt that holds the job, its outcome and its spend
    settlement, in one statement. `outcome`: more CTEs writing what the job produced (they
    select FROM finished, so they write only when the compare-and-set won); `result`: the SQL
    of the job's result (it may look at the database clock, e.g. a schedule that passed);
    `events`: the webhook events of what the outcome wrote (a SELECT over its CTEs, of
    workspace_id, project_id, type, data), written by the same outbox as the job's own.

    Parameters: $1 job id, $2 attempt, $3 result, $4 status, $5 error code, $6 error message,
    $7 a 0¢ provider call to record with the finish ({"provider", "model"}, or null); the
    outcome's own from $8.
    """
    outbox = outbox_ctes(f"{JOB_END_EVENTS} UNION ALL {events}") if events else JOB_END_OUTBOX
    return f"""
WITH finished AS (
    UPDATE jobs
       SET status = $4, result = {result}, error_code = $5, error_message = $6,
           lease_expires_at = NULL, completed_at = {NOW_MS}, updated_at = {NOW_MS}
     WHERE {_HELD}
    RETURNING *
), free_call AS (
    -- A provider that bills nothing (the offline generator on a live key): its call is in the
    -- ledger all the same, recorded with the finish.
    INSERT INTO provider_calls (job_id, attempt, provider, model, state, cost_cents,
                                started_at, completed_at)
    SELECT f.id, $2, $7::jsonb ->> 'provider', $7::jsonb ->> 'model', 'completed', 0,
           now(), now()
      FROM finished f WHERE $7::jsonb IS NOT NULL
){outcome}, {SETTLE_FINISHED}, {outbox}
SELECT {FINISHED_COLUMNS_OF_J}, j.result, {ENDED_DOCUMENT} AS document,
       (SELECT actual_cents FROM settled) AS charged,
       (SELECT count(*) FROM outbox_deliveries) AS webhooks
  FROM finished j
"""
