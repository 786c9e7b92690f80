"""Jobs as clients see them (API.md §4.1), as JSON without per-request model validation.

Postgres renders the jobs reads return (`repository.JOB_DOCUMENT`); the job a submit answers
with is rendered here (`queued_document`), and the progress snapshot of a RUNNING job is merged
here. `JobRead` (jobs/schemas.py) documents the shape in OpenAPI; the contract tests check every
response against it, and a test checks both renderers agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from scripe_api.core.clock import format_timestamp


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


def job_urls(job_id: str) -> dict[str, str]:
    """Where to follow a job (paths under the API's root): the same on every Job."""
    return {
        "get": f"/v1/jobs/{job_id}",
        "cancel": f"/v1/jobs/{job_id}/cancel",
        "events": f"/v1/jobs/{job_id}/events",
    }


def queued_document(
    *,
    job_id: str,
    job_type: str,
    project_id: str | None,
    estimated_completion_ms: int | None,
    created_at: datetime,
    reserved_cents: int = 0,
    cancel_after_seconds: int | None = None,
) -> dict[str, Any]:
    """A job as it is when its submit commits (`reserved_cents`: what it reserved against the
    spend cap; 0 for test keys and jobs that call no paid provider)."""
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
        "deadlineAt": None
        if cancel_after_seconds is None
        else format_timestamp(created_at + timedelta(seconds=cancel_after_seconds)),
        "cost": {
            "estimatedCents": reserved_cents,
            "reservedCents": reserved_cents,
            "actualCents": None,
            "state": "reserved" if reserved_cents else "none",
        },
        "urls": job_urls(job_id),
        "createdAt": created,
        "updatedAt": created,
    }
