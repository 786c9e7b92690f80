"""Jobs as clients see them (API.md §4.1), rendered straight from rows to JSON bytes.

`JobRead` (jobs/schemas.py) documents this shape in OpenAPI; the contract tests check every
response against it. Rendering here skips per-request model validation of data that came from
our own database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from scripe_api.core.clock import format_timestamp
from scripe_api.db.pool import Record
from scripe_api.jobs import repository as columns


def _ts(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def job_document(row: Record | tuple[Any, ...]) -> dict[str, Any]:
    """A row of `JOB_COLUMNS` as the Job object (progress null: see `with_progress`)."""
    updated_at = row[columns.UPDATED_AT]
    return {
        "id": row[columns.ID],
        "type": row[columns.TYPE],
        "status": row[columns.STATUS],
        "projectId": row[columns.PROJECT_ID],
        "startedAt": _ts(row[columns.STARTED_AT]),
        "completedAt": _ts(row[columns.COMPLETED_AT]),
        "progress": None,
        "result": row[columns.RESULT],
        "errorCode": row[columns.ERROR_CODE],
        "errorMessage": row[columns.ERROR_MESSAGE],
        "attemptCount": row[columns.ATTEMPT_COUNT],
        "estimatedCompletionMs": row[columns.ESTIMATED_COMPLETION_MS],
        "createdAt": format_timestamp(row[columns.CREATED_AT]),
        "updatedAt": format_timestamp(updated_at),
    }


def with_progress(document: dict[str, Any], snapshot: bytes | None) -> dict[str, Any]:
    """Merge the progress snapshot (RUNNING jobs only); `updatedAt` is then the later of the
    row's change and the snapshot's."""
    if document["status"] != "RUNNING" or snapshot is None:
        return document
    try:
        raw = orjson.loads(snapshot)
        value = float(raw["progress"])
        message = str(raw["message"])
        updated_at = format_timestamp(datetime.fromisoformat(raw["updatedAt"]))
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        return document
    if not 0.0 <= value <= 1.0:
        return document
    document["progress"] = {"progress": value, "message": message, "updatedAt": updated_at}
    # Same fixed-width format on both sides: the later string is the later time.
    document["updatedAt"] = max(document["updatedAt"], updated_at)
    return document


def envelope(document: dict[str, Any]) -> bytes:
    return orjson.dumps({"data": document})


def queued_document(
    *,
    job_id: str,
    job_type: str,
    project_id: str | None,
    estimated_completion_ms: int | None,
    created_at: datetime,
) -> dict[str, Any]:
    """A job as it is when its submit commits."""
    created = format_timestamp(created_at)
    return {
        "id": job_id,
        "type": job_type,
        "status": "QUEUED",
        "projectId": project_id,
        "startedAt": None,
        "completedAt": None,
        "progress": None,
        "result": None,
        "errorCode": None,
        "errorMessage": None,
        "attemptCount": 0,
        "estimatedCompletionMs": estimated_completion_ms,
        "createdAt": created,
        "updatedAt": created,
    }
