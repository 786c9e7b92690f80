"""The POST_GENERATION worker step: generate from what the claim read, then the finish saves
the post (see `Outcome`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.execution import ClaimedJob, Outcome, Progress, WorkerDeps
from scripe_api.posts import repository as posts_repository
from scripe_api.providers.base import (
    LINKEDIN_MAX_CHARS,
    GeneratedPost,
    GenerationContext,
    Provider,
    ProviderError,
)
from scripe_api.spend import service as spend

TITLE_MAX_CHARS = 500

SAVE_POST = posts_repository.SAVE_GENERATED_POST
POST_RESULT = (
    "coalesce($3::jsonb, '{}'::jsonb) || jsonb_build_object('postId', $8::text)"
    " || CASE WHEN $10::timestamptz <= now() THEN '{\"scheduleSkipped\": true}'::jsonb"
    " ELSE '{}'::jsonb END"
)


async def _call_provider(
    deps: WorkerDeps,
    job: ClaimedJob,
    attempt: int,
    provider: Provider,
    context: GenerationContext,
    progress: Progress,
) -> GeneratedPost:
    """One provider call, in the spend ledger: `started` is committed before the call and its
    usage and output right after, so a crash in between still charges the estimate (never a
    guess), and an attempt after a completed call (the first one's result could not be saved,
    or its worker died) reuses that output instead of paying the provider again. A provider
    that bills nothing (the offline generator) has its call recorded with the finish."""
    if job.key_mode == "test" or not provider.is_ai:
        return await provider.generate(context, progress)
    if job.paid_output is not None:
        return GeneratedPost(title=job.paid_output["title"], content=job.paid_output["content"])
    database = deps.resources.database
    call_id = await spend.start_call(database, job.id, attempt, provider.name, provider.model)
    try:
        generated = await provider.generate(context, progress)
    except ProviderError as error:
        await spend.fail_call(database, call_id, error.usage)
        raise
    output = {"title": generated.title, "content": generated.content}
    await spend.complete_call(database, call_id, generated.usage, output)
    return generated


async def run_generation(
    deps: WorkerDeps, job: ClaimedJob, attempt: int, progress: Progress
) -> Outcome:
    await progress(0.05, "Loading project context")
    project = job.project
    if project is None or project.status != "ACTIVE":
        state = "deleted" if project is None else project.status
        raise JobFailure(
            "project_unavailable",
            f"The project is {state}; only ACTIVE projects generate posts.",
            transient=False,
        )
    await progress(0.15, "Selecting knowledge")
    options: dict[str, Any] = job.input.get("options") or {}
    await progress(0.25, "Choosing angle")
    context = GenerationContext(
        source_text=job.input["source"]["text"],
        profile=project.voice_profile,
        samples=list(project.voice_samples),
        pillars=list(project.content_pillars),
        knowledge=job.passages,
        language=options.get("language"),
        content_type=options.get("contentType"),
        length=options.get("length", "medium"),
        attempt=attempt,
        job_id=job.id,
    )
    provider = deps.providers.for_key_mode(job.key_mode)
    await progress(0.35, "Drafting hook")
    async with deps.provider_slots:
        generated = await _call_provider(deps, job, attempt, provider, context, progress)
    await progress(0.8, "Checking length and format")
    content = generated.content.strip()[:LINKEDIN_MAX_CHARS]
    title = generated.title.strip()[:TITLE_MAX_CHARS] or None
    scheduled_for = job.input.get("scheduledFor")
    await progress(0.9, "Saving post")
    free_call = None
    if job.key_mode == "live" and not provider.is_ai:
        free_call = {"provider": provider.name, "model": provider.model}
    return Outcome(
        ctes=SAVE_POST,
        result_sql=POST_RESULT,
        events=posts_repository.GENERATED_POST_EVENT,
        params=(
            new_id("post"),
            job.project_id,
            datetime.fromisoformat(scheduled_for) if scheduled_for else None,
            options.get("contentType", "UNKNOWN"),
            title,
            content,
            utc_now(),
        ),
        free_call=free_call,
    )
