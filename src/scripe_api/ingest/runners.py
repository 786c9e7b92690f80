"""The ingest jobs' worker steps (INGEST.md §2, §3): get the text — extracted from an upload,
fetched from a URL, a YouTube transcript — then the finish writes what it makes (a knowledge
document and its passages, or a source) with the job's end, like KB_INGEST_TEXT.

Audio and video are transcribed by the configured provider (`ProviderRegistry.transcriber_for`),
in the spend ledger like a generation's call; without one (the offline generator, test keys)
such a job fails at once with `transcription_unavailable` (permanent; its reservation is
refunded when it ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.ingest import extract, fetch, youtube
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.execution import ClaimedJob, Outcome, Progress, WorkerDeps
from scripe_api.knowledge.runner import document_outcome
from scripe_api.providers.base import ProviderError, Usage
from scripe_api.providers.transcription import Transcriber
from scripe_api.sources.repository import CREATED_SOURCE_EVENT, SAVE_FILE_SOURCE, SOURCE_RESULT
from scripe_api.spend import service as spend
from scripe_api.uploads.schemas import MEDIA_TYPES

TRANSCRIPTION_UNAVAILABLE = JobFailure(
    "transcription_unavailable",
    "Audio and video need a transcription provider; this service runs without one.",
    transient=False,
)


def _require_project(job: ClaimedJob) -> None:
    if job.project_id is not None and not job.has_project:
        raise JobFailure("project_unavailable", "The project has been deleted.", transient=False)


async def _upload_text(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> tuple[str, float | None]:
    """The text of the job's upload (and, for audio or video, its duration): its bytes copied
    to a temporary file, then extracted by a bounded child process, or transcribed. The stored
    bytes are deleted once read."""
    settings = deps.resources.settings
    upload = job.input["upload"]
    content_type: str = upload["contentType"]
    is_media = content_type in MEDIA_TYPES
    transcriber = deps.providers.transcriber_for(job.key_mode) if is_media else None
    if is_media and transcriber is None:
        raise TRANSCRIPTION_UNAVAILABLE
    if is_media and job.paid_output is not None:
        # An earlier attempt paid for this transcript: never paid twice.
        return job.paid_output["text"], job.paid_output.get("durationSeconds")
    storage = deps.storage
    await progress(0.2, "Reading the file")
    with tempfile.TemporaryDirectory(prefix="scripe-ingest-") as folder:
        path = Path(folder) / "upload"
        try:
            await storage.fetch_to(upload["key"], path)
        except FileNotFoundError:
            raise JobFailure(
                "unsupported_content", "The uploaded file is no longer stored.", transient=False
            ) from None
        if transcriber is not None:
            await progress(0.4, "Transcribing")
            text, duration = await _transcribe(deps, job, attempt, transcriber, path, content_type)
        else:
            await progress(0.4, "Extracting the text")
            text = await extract.extract_file(
                path,
                content_type,
                timeout_seconds=settings.extract_timeout_seconds,
                memory_bytes=settings.extract_memory_bytes,
                max_chars=settings.ingest_max_chars,
            )
            duration = None
    with contextlib.suppress(Exception):  # the cleanup cron deletes it otherwise
        await storage.delete(upload["key"])
    return text, duration


async def _transcribe(
    deps: WorkerDeps,
    job: ClaimedJob,
    attempt: int,
    transcriber: Transcriber,
    path: Path,
    content_type: str,
) -> tuple[str, float | None]:
    """One transcription, in the spend ledger like a generation's provider call: `started`
    before, its cost and transcript right after (a later attempt reuses it)."""
    settings = deps.resources.settings
    database = deps.resources.database
    call_id = await spend.start_call(database, job.id, attempt, transcriber.name, transcriber.model)
    try:
        transcript = await transcriber.transcribe(
            path, content_type, timeout_seconds=settings.transcription_timeout_seconds
        )
    except ProviderError as error:
        await spend.fail_call(database, call_id, error.usage)
        raise
    output = {"text": transcript.text, "durationSeconds": transcript.duration_seconds}
    await spend.complete_call(database, call_id, Usage(cost_cents=transcript.cost_cents), output)
    if not transcript.text:
        raise JobFailure(
            "unsupported_content", "The recording has no speech to transcribe.", transient=False
        )
    return transcript.text[: settings.ingest_max_chars], transcript.duration_seconds


async def _url_text(deps: WorkerDeps, job: ClaimedJob, progress: Progress) -> str:
    settings = deps.resources.settings
    await progress(0.2, "Fetching the page")
    fetched = await fetch.fetch(job.input["url"], allow_private=settings.fetch_private_urls_allowed)
    await progress(0.5, "Extracting the text")
    # A fetched body is at most 10 MB: extracted in a bounded child like an upload.
    with tempfile.TemporaryDirectory(prefix="scripe-fetch-") as folder:
        path = Path(folder) / "page"
        await asyncio.to_thread(path.write_bytes, fetched.body)
        return await extract.extract_file(
            path,
            fetched.content_type,
            timeout_seconds=settings.extract_timeout_seconds,
            memory_bytes=settings.extract_memory_bytes,
            max_chars=settings.ingest_max_chars,
        )


async def run_file_ingest(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    """KB_INGEST_FILE."""
    _require_project(job)
    text, _ = await _upload_text(deps, job, attempt, progress)
    return await document_outcome(job, job.input["name"], text, progress)


async def run_url_ingest(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    """KB_INGEST_URL."""
    _require_project(job)
    text = await _url_text(deps, job, progress)
    return await document_outcome(job, job.input["name"], text, progress)


async def run_youtube_ingest(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    """KB_INGEST_YOUTUBE."""
    _require_project(job)
    await progress(0.2, "Fetching the transcript")
    text = await youtube.fetch_transcript(job.input["videoId"], http_client=deps.youtube_http)
    return await document_outcome(
        job, job.input["name"], text[: deps.resources.settings.ingest_max_chars], progress
    )


async def run_source_ingest(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    """SOURCE_INGEST_FILE: the source is written with the finish; `result.sourceId`."""
    _require_project(job)
    text, duration = await _upload_text(deps, job, attempt, progress)
    await progress(0.9, "Saving the source")
    return Outcome(
        ctes=SAVE_FILE_SOURCE,
        result_sql=SOURCE_RESULT,
        events=CREATED_SOURCE_EVENT,
        params=(
            new_id("src"),
            job.input.get("name"),
            job.input["upload"]["contentType"],
            duration,
            text,
            utc_now(),
        ),
    )
