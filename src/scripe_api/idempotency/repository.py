"""SQL for Idempotency-Key records (API.md §3), prepared once per connection.

Times are the database's (every API process must agree on the 30 s lock and the 24 h window).
Each transition after the claim is a compare-and-set on `locked_until`, the claim's token: a
request whose claim was taken over changes nothing. The job-submitting endpoints claim and
complete their key inside one statement instead (see `jobs/submission.py`).

- CLAIM: insert an in-flight claim, or replace in place a record older than the window (it
  counts as absent); the token, or nothing when a live record holds the key.
- READ_LIVE: the record as its claimants see it (is its lock still live?).
- TAKE_OVER: take over an in-flight claim whose lock expired (its request died).
- COMPLETE: record the response, only while the claim is this request's.
- RELEASE: forget the claim so a retry runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scripe_api.db.pool import Connection

CLAIM = """
INSERT INTO idempotency_records AS r
       (workspace_id, scope, key, fingerprint, state, locked_until, created_at)
VALUES ($1, $2, $3, $4, 'in_flight', now() + make_interval(secs => $5), now())
ON CONFLICT (workspace_id, scope, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, state = 'in_flight',
       locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at,
       response_status = NULL, response_body = NULL, response_headers = NULL,
       completed_at = NULL
 WHERE r.created_at <= now() - make_interval(secs => $6)
RETURNING locked_until
"""

READ_LIVE = """
SELECT fingerprint, state, locked_until, coalesce(locked_until > now(), false) AS is_locked,
       response_status, response_body, response_headers
  FROM idempotency_records
 WHERE workspace_id = $1 AND scope = $2 AND key = $3
   AND created_at > now() - make_interval(secs => $4)
"""

TAKE_OVER = """
UPDATE idempotency_records SET locked_until = now() + make_interval(secs => $5)
 WHERE workspace_id = $1 AND scope = $2 AND key = $3
   AND state = 'in_flight' AND locked_until = $4 AND locked_until <= now()
RETURNING locked_until
"""

COMPLETE = """
UPDATE idempotency_records
   SET state = 'completed', locked_until = NULL, response_status = $5,
       response_body = $6, response_headers = $7, completed_at = now()
 WHERE workspace_id = $1 AND scope = $2 AND key = $3
   AND state = 'in_flight' AND locked_until = $4
RETURNING key
"""

RELEASE = """
DELETE FROM idempotency_records
 WHERE workspace_id = $1 AND scope = $2 AND key = $3
   AND state = 'in_flight' AND locked_until = $4
"""

PURGE = """
DELETE FROM idempotency_records WHERE created_at <= now() - make_interval(secs => $1)
"""


@dataclass(frozen=True, slots=True)
class RecordKey:
    workspace_id: str
    scope: str  # method + route template, e.g. "PATCH /v1/posts/{postId}"
    key: str


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """A record younger than the window, as its claimants see it."""

    fingerprint: bytes
    state: str
    locked_until: datetime | None
    is_locked: bool
    response_status: int | None
    # The body as sent, kept as a JSON string: jsonb would reorder the keys of an object, and a
    # replay is the original response byte for byte.
    response_body: str | None
    response_headers: dict[str, str] | None


async def claim_if_absent(
    connection: Connection,
    key: RecordKey,
    fingerprint: bytes,
    *,
    lock_seconds: float,
    window_seconds: float,
) -> datetime | None:
    token: datetime | None = await connection.fetchval(
        CLAIM, key.workspace_id, key.scope, key.key, fingerprint, lock_seconds, window_seconds
    )
    return token


async def get_live(
    connection: Connection, key: RecordKey, window_seconds: float
) -> LiveRecord | None:
    row = await connection.fetchrow(READ_LIVE, key.workspace_id, key.scope, key.key, window_seconds)
    return None if row is None else LiveRecord(*row)


async def take_over(
    connection: Connection, key: RecordKey, seen_locked_until: datetime, lock_seconds: float
) -> datetime | None:
    token: datetime | None = await connection.fetchval(
        TAKE_OVER, key.workspace_id, key.scope, key.key, seen_locked_until, lock_seconds
    )
    return token


async def complete(
    connection: Connection,
    key: RecordKey,
    token: datetime,
    *,
    status: int,
    body: str,
    headers: dict[str, str],
) -> bool:
    """Record the response; False when the claim is no longer this request's."""
    completed = await connection.fetchval(
        COMPLETE, key.workspace_id, key.scope, key.key, token, status, body, headers
    )
    return completed is not None


async def release(connection: Connection, key: RecordKey, token: datetime) -> None:
    await connection.execute(RELEASE, key.workspace_id, key.scope, key.key, token)


async def purge_older_than(connection: Connection, window_seconds: float) -> int:
    status: str = await connection.execute(PURGE, window_seconds)
    return int(status.split()[-1])
