"""The KB_INGEST_TEXT worker step: chunk the text, then write the document and its chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import Job
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.execution import Finisher, Progress, WorkerDeps
from scripe_api.knowledge import repository
from scripe_api.knowledge.chunking import chunk_text
from scripe_api.projects import repository as projects


async def run_text_ingest(deps: WorkerDeps, job: Job, attempt: int, progress: Progress) -> Finisher:
    await progress(0.1, "Reading the text")
    if job.project_id is not None:
        async with deps.resources.sessionmaker() as session:
            project = await projects.get(session, job.workspace_id, job.project_id)
        if project is None:
            raise JobFailure(
                "project_unavailable", "The project has been deleted.", transient=False
            )
    await progress(0.3, "Splitting into passages")
    chunks = chunk_text(job.input["text"])
    await progress(0.7, f"Indexing {len(chunks)} passages")

    async def save_document(session: AsyncSession, now: datetime) -> dict[str, Any]:
        document = await repository.add_document(
            session,
            workspace_id=job.workspace_id,
            project_id=job.project_id,
            name=job.input["name"],
            chunks=chunks,
            job_id=job.id,
        )
        return {"documentId": document.id}

    return save_document
