"""The KB_INGEST_TEXT worker step: chunk the text; the finish writes the document and its
chunks (see `Outcome`)."""

from __future__ import annotations

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.execution import ClaimedJob, Outcome, Progress, WorkerDeps
from scripe_api.knowledge.chunking import chunk_text

# The document and its chunks, written with the finish (only when the attempt still holds the
# job); a job writes one document whatever happens to its attempts (kb_documents.job_id).
SAVE_DOCUMENT = """, document AS (
    INSERT INTO kb_documents (id, workspace_id, project_id, name, job_id, created_at)
    SELECT $8, f.workspace_id, $9, $10, f.id, $11 FROM finished f
    RETURNING id, workspace_id
), chunks AS (
    INSERT INTO kb_chunks (id, document_id, workspace_id, project_id, position, content)
    SELECT c.chunk_id, d.id, d.workspace_id, $9, c.position - 1, c.content
      FROM document d,
           unnest($12::text[], $13::text[]) WITH ORDINALITY AS c(chunk_id, content, position)
)"""
DOCUMENT_RESULT = "coalesce($3::jsonb, '{}'::jsonb) || jsonb_build_object('documentId', $8::text)"


async def document_outcome(job: ClaimedJob, name: str, text: str, progress: Progress) -> Outcome:
    """The finish of an ingest job: the document named `name` made of `text`'s passages."""
    await progress(0.6, "Splitting into passages")
    chunks = chunk_text(text)
    await progress(0.8, f"Indexing {len(chunks)} passages")
    return Outcome(
        ctes=SAVE_DOCUMENT,
        result_sql=DOCUMENT_RESULT,
        params=(
            new_id("kb"),
            job.project_id,
            name,
            utc_now(),
            [new_id("kbc") for _ in chunks],
            chunks,
        ),
    )


async def run_text_ingest(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    await progress(0.1, "Reading the text")
    if job.project_id is not None and not job.has_project:
        raise JobFailure("project_unavailable", "The project has been deleted.", transient=False)
    return await document_outcome(job, job.input["name"], job.input["text"], progress)
