"""SQL for webhook endpoints and their deliveries.

Endpoints and the delivery log are scoped to the workspace (a foreign id is simply not found).
The dispatcher's statements are compare-and-sets like the jobs': a claim takes due deliveries
and counts the attempt (`attempts` is the token the outcome must still match), holding each
for a lease; an outcome is recorded only by the attempt that still holds its delivery, and
moves the endpoint's failure streak (and its automatic disabling) in the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scripe_api.core.pagination import CursorCodec, Page, PageRequest
from scripe_api.db.base import can_exist
from scripe_api.db.keyset import fetch_page
from scripe_api.db.pool import Connection, Record

ENDPOINT_COLUMNS = (
    "id, url, name, events, is_active, disabled_reason, project_id, secret_last4, "
    "failing_since, created_at, updated_at"
)
READ_ENDPOINT = (
    f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND workspace_id = $2"
)
READ_ENDPOINT_FOR_UPDATE = f"{READ_ENDPOINT} FOR UPDATE"
INSERT_ENDPOINT = f"""
INSERT INTO webhook_endpoints (id, workspace_id, project_id, name, url, events, is_active,
                               secret_ciphertext, secret_last4, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $9)
RETURNING {ENDPOINT_COLUMNS}
"""
# Re-activating an endpoint clears why it was disabled and its failure streak.
UPDATE_ENDPOINT = f"""
UPDATE webhook_endpoints
   SET name = $3, url = $4, events = $5, project_id = $6, is_active = $7,
       disabled_reason = CASE WHEN $7 AND NOT is_active THEN NULL ELSE disabled_reason END,
       failing_since = CASE WHEN $7 AND NOT is_active THEN NULL ELSE failing_since END,
       updated_at = $8
 WHERE id = $1 AND workspace_id = $2
RETURNING {ENDPOINT_COLUMNS}
"""
# Its deliveries (pending ones included) go with it.
DELETE_ENDPOINT = f"""
DELETE FROM webhook_endpoints WHERE id = $1 AND workspace_id = $2 RETURNING {ENDPOINT_COLUMNS}
"""
# The old secret keeps signing (beside the new one) until `$5` seconds from now.
ROTATE_SECRET = f"""
UPDATE webhook_endpoints
   SET previous_secret_ciphertext = secret_ciphertext,
       previous_secret_expires_at = now() + make_interval(secs => $5),
       secret_ciphertext = $3, secret_last4 = $4, updated_at = $6
 WHERE id = $1 AND workspace_id = $2
RETURNING {ENDPOINT_COLUMNS}
"""

DELIVERY_COLUMNS = (
    "id, event_id, event_type, status, attempts, last_attempt_at, next_attempt_at, "
    "last_response_status, last_response_ms, last_response_body, last_error, created_at"
)
_OF_ENDPOINT = (
    "FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.id = $2 AND e.workspace_id = $3"
)
# A new attempt now, of a delivery in any state (the same event, so the same webhook-id).
REDELIVER = f"""
UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now()
  {_OF_ENDPOINT} AND d.id = $1
RETURNING {", ".join(f"d.{column.strip()}" for column in DELIVERY_COLUMNS.split(","))}
"""
# The endpoint's deliveries created since $1 (failed ones only, or all), oldest first, at
# most $3, queued again now; one a dispatcher is sending is left to that attempt.
REPLAY = """
WITH chosen AS (
    SELECT d.id FROM webhook_deliveries d
     WHERE d.endpoint_id = $4 AND d.created_at >= $1
       AND ($2::text = 'all' OR d.status = 'failed')
       AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
     ORDER BY d.created_at, d.id
     LIMIT $3
), queued AS (
    UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now()
      FROM chosen WHERE d.id = chosen.id
    RETURNING d.id
)
SELECT count(*) FROM queued
"""

# Up to $1 due deliveries, at most $2 in flight per endpoint (those already sent count),
# oldest due first across endpoints, held for $3 seconds: the attempt is counted now, so a
# sender that dies has used it, and the delivery is due again when the hold expires. Rows:
# what sending needs — the endpoint's address and secrets, the event's body.
CLAIM = """
WITH due AS (
    SELECT d.id, d.next_attempt_at
      FROM webhook_endpoints e
     CROSS JOIN LATERAL (
           SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
            WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= now()
            ORDER BY d.next_attempt_at
            LIMIT greatest(0, $2 - (SELECT count(*) FROM webhook_deliveries f
                                     WHERE f.endpoint_id = e.id AND f.status = 'pending'
                                       AND f.lease_expires_at > now()))
              FOR UPDATE SKIP LOCKED) d
     WHERE e.is_active
     ORDER BY d.next_attempt_at
     LIMIT $1
), claimed AS (
    UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1,
           lease_expires_at = now() + make_interval(secs => $3),
           next_attempt_at = now() + make_interval(secs => $3)
      FROM due WHERE d.id = due.id
    RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.attempts
)
SELECT c.id, c.endpoint_id, c.event_id, c.event_type, c.attempts, e.url,
       e.secret_ciphertext,
       CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_ciphertext END
           AS previous_secret_ciphertext,
       ev.body
  FROM claimed c
  JOIN webhook_endpoints e ON e.id = c.endpoint_id
  JOIN webhook_events ev ON ev.id = c.event_id
"""

# The outcome of attempt $2 of delivery $1, if it still holds it: $3 status (pending: retry in
# $4 seconds), $5-$8 the receiver's answer or the error. The endpoint's failure streak moves
# with it ($9 succeeded): a success ends it; a failure starts it, or — when it has lasted $11
# seconds — disables the endpoint (`failing`); $10 disables it at once (`gone`,
# `ssrf_blocked`). The endpoint row is written only when one of these changes it.
RECORD_OUTCOME = """
WITH delivery AS (
    UPDATE webhook_deliveries
       SET status = $3::text,
           next_attempt_at = CASE WHEN $3::text = 'pending'
                                  THEN now() + make_interval(secs => $4::float8) END,
           lease_expires_at = NULL, last_attempt_at = now(), last_response_status = $5::int,
           last_response_ms = $6::int, last_response_body = $7::text,
           last_error = $8::text
     WHERE id = $1 AND attempts = $2 AND status = 'pending'
    RETURNING endpoint_id
), streak AS (
    SELECT w.id,
           CASE WHEN $10::text IS NOT NULL THEN $10::text
                WHEN NOT $9::bool AND w.failing_since <= now() - make_interval(secs => $11::float8)
                THEN 'failing' END AS disable
      FROM webhook_endpoints w JOIN delivery d ON w.id = d.endpoint_id
), endpoint AS (
    UPDATE webhook_endpoints w
       SET failing_since = CASE WHEN $9 THEN NULL ELSE coalesce(w.failing_since, now()) END,
           is_active = CASE WHEN s.disable IS NOT NULL THEN false ELSE w.is_active END,
           disabled_reason = coalesce(s.disable, w.disabled_reason),
           updated_at = now()
      FROM streak s
     WHERE w.id = s.id
       AND (s.disable IS NOT NULL
            OR ($9 AND w.failing_since IS NOT NULL)
            OR (NOT $9 AND w.failing_since IS NULL))
    RETURNING w.id
)
SELECT (SELECT count(*) FROM delivery) AS recorded,
       (SELECT disable FROM streak) AS disabled
"""

# Events (and so their deliveries) older than the retention.
PURGE = """
DELETE FROM webhook_events
 WHERE id IN (SELECT id FROM webhook_events
               WHERE created_at < now() - make_interval(days => $1) LIMIT $2)
"""


async def get_endpoint(
    connection: Connection, workspace_id: str, endpoint_id: str, *, for_update: bool = False
) -> Record | None:
    if not can_exist(endpoint_id):
        return None
    statement = READ_ENDPOINT_FOR_UPDATE if for_update else READ_ENDPOINT
    row: Record | None = await connection.fetchrow(statement, endpoint_id, workspace_id)
    return row


async def insert_endpoint(
    connection: Connection,
    *,
    endpoint_id: str,
    workspace_id: str,
    project_id: str | None,
    name: str,
    url: str,
    events: Sequence[str],
    secret_ciphertext: str,
    secret_last4: str,
    created_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        INSERT_ENDPOINT,
        endpoint_id,
        workspace_id,
        project_id,
        name,
        url,
        list(events),
        secret_ciphertext,
        secret_last4,
        created_at,
    )
    return row


async def update_endpoint(
    connection: Connection,
    workspace_id: str,
    endpoint_id: str,
    *,
    name: str,
    url: str,
    events: Sequence[str],
    project_id: str | None,
    is_active: bool,
    updated_at: datetime,
) -> Record:
    row: Record = await connection.fetchrow(
        UPDATE_ENDPOINT,
        endpoint_id,
        workspace_id,
        name,
        url,
        list(events),
        project_id,
        is_active,
        updated_at,
    )
    return row


async def delete_endpoint(
    connection: Connection, workspace_id: str, endpoint_id: str
) -> Record | None:
    if not can_exist(endpoint_id):
        return None
    row: Record | None = await connection.fetchrow(DELETE_ENDPOINT, endpoint_id, workspace_id)
    return row


async def rotate_secret(
    connection: Connection,
    workspace_id: str,
    endpoint_id: str,
    *,
    secret_ciphertext: str,
    secret_last4: str,
    overlap_seconds: float,
    updated_at: datetime,
) -> Record | None:
    if not can_exist(endpoint_id):
        return None
    row: Record | None = await connection.fetchrow(
        ROTATE_SECRET,
        endpoint_id,
        workspace_id,
        secret_ciphertext,
        secret_last4,
        overlap_seconds,
        updated_at,
    )
    return row


async def list_endpoints(
    connection: Connection, workspace_id: str, request: PageRequest, codec: CursorCodec
) -> Page[Record]:
    return await fetch_page(
        connection,
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints",
        ("workspace_id = $1",),
        (workspace_id,),
        request,
        codec,
    )


async def list_deliveries(
    connection: Connection,
    endpoint_id: str,
    *,
    status: str | None,
    event_type: str | None,
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Record]:
    """The endpoint's deliveries, newest first (the endpoint was read in the caller's
    workspace first)."""
    conditions = ["endpoint_id = $1"]
    args: list[object] = [endpoint_id]
    if status is not None:
        args.append(status)
        conditions.append(f"status = ${len(args)}")
    if event_type is not None:
        args.append(event_type)
        conditions.append(f"event_type = ${len(args)}")
    return await fetch_page(
        connection,
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries",
        tuple(conditions),
        tuple(args),
        request,
        codec,
    )


async def redeliver(
    connection: Connection, workspace_id: str, endpoint_id: str, delivery_id: str
) -> Record | None:
    if not can_exist(delivery_id) or not can_exist(endpoint_id):
        return None
    row: Record | None = await connection.fetchrow(
        REDELIVER, delivery_id, endpoint_id, workspace_id
    )
    return row


async def replay(
    connection: Connection, endpoint_id: str, *, since: datetime, status: str, limit: int
) -> int:
    """Queue again the endpoint's deliveries since `since`; how many (the endpoint was read in
    the caller's workspace first)."""
    queued: int = await connection.fetchval(REPLAY, since, status, limit, endpoint_id)
    return queued


async def claim(
    connection: Connection, limit: int, per_endpoint: int, lease_seconds: float
) -> Sequence[Record]:
    rows: Sequence[Record] = await connection.fetch(CLAIM, limit, per_endpoint, lease_seconds)
    return rows


async def record_outcome(
    connection: Connection,
    delivery_id: str,
    attempt: int,
    *,
    status: str,
    retry_in_seconds: float | None,
    response_status: int | None,
    response_ms: int | None,
    response_body: str | None,
    error: str | None,
    succeeded: bool,
    disable: str | None,
    disable_after_seconds: float,
) -> Record:
    """(recorded: 1 when the attempt still held its delivery, disabled: the reason the
    endpoint was disabled now, if it was)."""
    row: Record = await connection.fetchrow(
        RECORD_OUTCOME,
        delivery_id,
        attempt,
        status,
        retry_in_seconds,
        response_status,
        response_ms,
        response_body,
        error,
        succeeded,
        disable,
        disable_after_seconds,
    )
    return row


async def purge(connection: Connection, retention_days: int, limit: int = 10_000) -> int:
    result: str = await connection.execute(PURGE, retention_days, limit)
    return int(result.rsplit(" ", 1)[-1])
