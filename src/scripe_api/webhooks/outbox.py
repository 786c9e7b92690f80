"""The transactional outbox (WEBHOOKS.md §2): an event is written by the statement — or in the
transaction — that makes the change it reports, with one pending delivery per active endpoint
subscribed to it. Nothing is written when no endpoint wants the event, and nothing survives a
change that rolled back; the dispatcher (`webhooks.dispatcher`) sends what was committed.

`outbox_ctes(source)` joins a statement: `source` is a SELECT of (workspace_id, project_id,
type, data), `data` the JSON of the resource exactly as its GET returns it. The event's body is
rendered here once, so every delivery of it sends (and signs) the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from scripe_api.db.base import timestamp_sql
from scripe_api.db.pool import Connection

_SUBSCRIBED = """w.workspace_id = e.workspace_id AND w.is_active AND e.type = ANY(w.events)
       AND (w.project_id IS NULL OR w.project_id = e.project_id)"""


def outbox_ctes(source: str) -> str:
    """CTEs `outbox` (the events) and `outbox_deliveries` (one per subscribed endpoint)."""
    return f"""outbox AS (
    INSERT INTO webhook_events (id, workspace_id, project_id, type, body, created_at)
    SELECT scripe_new_id('msg'), e.workspace_id, e.project_id, e.type,
           json_build_object('type', e.type, 'timestamp', {timestamp_sql("now()")},
                             'data', e.data)::text, now()
      FROM ({source}) e
     WHERE EXISTS (SELECT 1 FROM webhook_endpoints w WHERE {_SUBSCRIBED})
    RETURNING id, workspace_id, project_id, type
), outbox_deliveries AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts,
                                    next_attempt_at, created_at)
    SELECT scripe_new_id('whd'), w.id, e.id, e.type, 'pending', 0, now(), now()
      FROM outbox e JOIN webhook_endpoints w ON {_SUBSCRIBED}
    RETURNING id
)"""


def job_end_source(document: str) -> str:
    """The events of the jobs a statement ended (CTE `finished`, `document` the SQL of the
    ended job's document over alias `j`): `job.completed` or `job.failed`, and
    `knowledge.indexed` for an ingest that finished. A cancelled job reports nothing (the
    client cancelled it, or its deadline passed before it started)."""
    return f"""SELECT j.workspace_id, j.project_id, t.type, {document}::json AS data
      FROM finished j
      CROSS JOIN LATERAL (VALUES
          (CASE j.status WHEN 'DONE' THEN 'job.completed' WHEN 'FAILED' THEN 'job.failed' END),
          (CASE WHEN j.status = 'DONE' AND j.type LIKE 'KB_INGEST_%' THEN 'knowledge.indexed'
           END)) AS t(type)
     WHERE t.type IS NOT NULL"""


RECORD_EVENTS = f"""
WITH {
    outbox_ctes(
        "SELECT $1::text AS workspace_id, $2::text AS project_id, t.type, "
        "$4::text::json AS data FROM unnest($3::text[]) AS t(type)"
    )
}
SELECT count(*) FROM outbox_deliveries
"""


async def record(
    connection: Connection,
    workspace_id: str,
    project_id: str | None,
    event_types: Sequence[str],
    data: str,
) -> int:
    """Write events about one resource (`data`: its JSON as its GET returns it) in the
    caller's transaction, one statement; the number of deliveries queued."""
    queued: int = await connection.fetchval(
        RECORD_EVENTS, workspace_id, project_id, list(event_types), data
    )
    return queued
