"""Submitting a post generation: check what can be checked in the request, then one statement
(see `jobs.submission`) checks the project, the note, the schedule and the spend cap, and
queues the job. The body is always the canonical form here: the pipeline rewrites the flat one
(a top-level `text`, `noteId` or `sourceId`) first, see `GenerationCreate.canonical_body`."""

from __future__ import annotations

from typing import Any

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import PayloadTooLarge
from scripe_api.generations.schemas import (
    SOURCE_TEXT_MAX_BYTES,
    GenerationCreate,
    GenerationSourceNote,
    GenerationSourceSource,
    GenerationSourceText,
)
from scripe_api.jobs.submission import JobRequest
from scripe_api.settings import Settings
from scripe_api.spend.service import cap_for


def generation_request(
    settings: Settings, principal: Principal, body: GenerationCreate, estimate_ms: int | None
) -> JobRequest:
    """The job to submit; raises what the request alone shows to be wrong (413). The note or
    source it names is looked up by the submit statement (422 when it is not the project's)."""
    source = body.source
    if isinstance(source, GenerationSourceText) and len(source.text.encode()) > (
        SOURCE_TEXT_MAX_BYTES
    ):
        raise PayloadTooLarge("source.text exceeds 100 KB.")
    note_id = source.note_id if isinstance(source, GenerationSourceNote) else None
    source_id = source.source_id if isinstance(source, GenerationSourceSource) else None
    text = source.text if isinstance(source, GenerationSourceText) else None
    options = body.options.model_dump(by_alias=True, exclude_none=True) if body.options else {}
    job_input: dict[str, Any] = {
        # A note's or a source's text (and id) are copied into the job by the submit statement,
        # once it found it.
        "source": {"text": text, "noteId": None},
        "scheduledFor": body.scheduled_for.isoformat() if body.scheduled_for else None,
        "options": options,
    }
    return JobRequest(
        job_type="POST_GENERATION",
        project_id=body.project_id,
        input=job_input,
        estimated_completion_ms=estimate_ms,
        note_id=note_id,
        source_id=source_id,
        scheduled_for=body.scheduled_for,
        reserve_cents=settings.generation_estimate_cents,
        cap_cents=cap_for(settings, principal.plan),
    )
