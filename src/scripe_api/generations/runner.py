"""The POST_GENERATION worker step: load the project's voice, generate, save the post."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.ids import new_id
from scripe_api.db.models import Job, Post
from scripe_api.jobs.errors import JobFailure
from scripe_api.jobs.execution import Finisher, Progress, WorkerDeps
from scripe_api.knowledge import repository as knowledge
from scripe_api.posts import repository as posts
from scripe_api.projects import repository as projects
from scripe_api.providers.base import (
    LINKEDIN_MAX_CHARS,
    GeneratedPost,
    GenerationContext,
    Provider,
    ProviderError,
)
from scripe_api.spend import service as spend

TITLE_MAX_CHARS = 500


async def _call_provider(
    deps: WorkerDeps,
    job: Job,
    attempt: int,
    provider: Provider,
    context: GenerationContext,
    progress: Progress,
) -> GeneratedPost:
    """One provider call, in the spend ledger: `started` is committed before the call and its
    usage and output right after, so a crash in between still charges the estimate (never a
    guess), and an attempt after a completed call (the first one's result could not be saved,
    or its worker died) reuses that output instead of paying the provider again."""
    if job.key_mode == "test":
        return await provider.generate(context, progress)
    sessionmaker = deps.resources.sessionmaker
    paid = await spend.paid_output(sessionmaker, job.id)
    if paid is not None:
        return GeneratedPost(title=paid["title"], content=paid["content"])
    call_id = await spend.start_call(sessionmaker, job.id, attempt, provider.name, provider.model)
    try:
        generated = await provider.generate(context, progress)
    except ProviderError as error:
        await spend.fail_call(sessionmaker, call_id, error.usage)
        raise
    output = {"title": generated.title, "content": generated.content}
    await spend.complete_call(sessionmaker, call_id, generated.usage, output)
    return generated


async def run_generation(deps: WorkerDeps, job: Job, attempt: int, progress: Progress) -> Finisher:
    await progress(0.05, "Loading project context")
    source_text = job.input["source"]["text"]
    async with deps.resources.sessionmaker() as session:
        project = await projects.get(session, job.workspace_id, job.project_id or "")
    if project is None or project.status != "ACTIVE":
        state = "deleted" if project is None else project.status
        raise JobFailure(
            "project_unavailable",
            f"The project is {state}; only ACTIVE projects generate posts.",
            transient=False,
        )
    await progress(0.15, "Selecting knowledge")
    async with deps.resources.sessionmaker() as session:
        passages = await knowledge.relevant_passages(
            session, job.workspace_id, project.id, source_text
        )
    options: dict[str, Any] = job.input.get("options") or {}
    await progress(0.25, "Choosing angle")
    context = GenerationContext(
        source_text=source_text,
        profile=project.voice_profile,
        samples=list(project.voice_samples),
        pillars=list(project.content_pillars),
        knowledge=passages,
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
    content_type = options.get("contentType", "UNKNOWN")
    scheduled_for = job.input.get("scheduledFor")
    await progress(0.9, "Saving post")

    async def save_post(session: AsyncSession, now: datetime) -> dict[str, Any]:
        schedule = datetime.fromisoformat(scheduled_for) if scheduled_for else None
        # Never schedule in the past: a schedule that passed while queued becomes a draft.
        is_scheduled = schedule is not None and schedule > now
        post = Post(
            id=new_id("post"),
            workspace_id=job.workspace_id,
            project_id=project.id,
            job_id=job.id,
            status="scheduled" if is_scheduled else "draft",
            content_type=content_type,
            title=title,
            content=content,
            scheduled_at=schedule if is_scheduled else None,
        )
        posts.add(session, post)
        await session.flush()
        result: dict[str, Any] = {"postId": post.id}
        if schedule is not None and not is_scheduled:
            result["scheduleSkipped"] = True
        return result

    return save_post
