"""Submitting a post generation: validate against the project, snapshot the input, queue a job."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import PayloadTooLarge, Unprocessable
from scripe_api.db.models import Job
from scripe_api.db.session import UnitOfWork
from scripe_api.generations.schemas import (
    SOURCE_TEXT_MAX_BYTES,
    GenerationCreate,
    GenerationSourceNote,
    GenerationSourceText,
)
from scripe_api.jobs.estimates import EstimateCache
from scripe_api.jobs.submission import submit_job
from scripe_api.notes import repository as notes
from scripe_api.posts.service import require_future
from scripe_api.projects.service import get_project
from scripe_api.settings import Settings
from scripe_api.spend.service import reserve_for_job


async def submit_generation(
    uow: UnitOfWork,
    redis: ArqRedis,
    estimates: EstimateCache,
    settings: Settings,
    principal: Principal,
    body: GenerationCreate,
) -> Job:
    # Before the first query of the unit of work: a refresh of the cached medians takes a
    # connection of its own, and must never do so while this request already holds one.
    estimate_ms = await estimates.estimate_ms("POST_GENERATION")
    session = uow.session
    source = body.source
    if isinstance(source, GenerationSourceText) and len(source.text.encode()) > (
        SOURCE_TEXT_MAX_BYTES
    ):
        raise PayloadTooLarge("source.text exceeds 100 KB.")
    project = await get_project(session, principal, body.project_id)
    note_id = source.note_id if isinstance(source, GenerationSourceNote) else None
    if isinstance(source, GenerationSourceNote):
        # Read with the request's own rights: same workspace, and the same project.
        note = await notes.get(session, principal.workspace_id, source.note_id)
        if note is None or note.project_id != project.id:
            raise Unprocessable(
                f"source.noteId '{source.note_id}' is not a note of project '{project.id}'.",
                details={"field": "source.noteId"},
            )
        text = note.content
    else:
        text = source.text
    if body.scheduled_for is not None:
        await require_future(session, body.scheduled_for)
    options = body.options.model_dump(by_alias=True, exclude_none=True) if body.options else {}
    job_input: dict[str, Any] = {
        "source": {"text": text, "noteId": note_id},
        "scheduledFor": body.scheduled_for.isoformat() if body.scheduled_for else None,
        "options": options,
    }
    job = await submit_job(
        uow,
        redis,
        principal,
        job_type="POST_GENERATION",
        project_id=project.id,
        job_input=job_input,
        estimated_completion_ms=estimate_ms,
    )
    # Last check before the work: the whole transaction (job included) rolls back on a 402.
    await reserve_for_job(session, settings, principal, job.id, settings.generation_estimate_cents)
    return job
