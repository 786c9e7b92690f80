"""Claims that arrive together share one statement, and each attempt still runs at most once."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.jobs.execution import run_attempt
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import get_job, posts_of_job, submit_generation
from tests.workers_support import worker_deps


async def test_an_attempt_delivered_twice_at_once_runs_once(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Both deliveries reach the claim in the same batch: one runs the job, one is skipped."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job_id = (await submit_generation(client, tenant, project.id))["id"]
    async with worker_deps(settings) as deps:
        outcomes = await asyncio.gather(*(run_attempt(deps, job_id, 1) for _ in range(2)))
    assert sorted(outcomes) == ["done", "skipped"]
    job = await get_job(client, tenant, job_id)
    assert (job["status"], job["attemptCount"]) == ("DONE", 1)
    assert len(await posts_of_job(sessionmaker, job_id)) == 1


async def test_many_attempts_claimed_together_each_run_their_own_job(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A poll's worth of jobs, from two projects, claimed at once: each runs with its own
    input and its own project, once."""
    tenant = await factory.tenant()
    projects = [await factory.project(tenant.workspace.id) for _ in range(2)]
    jobs = [
        await submit_generation(client, tenant, projects[n % 2].id, f"Note number {n}.")
        for n in range(12)
    ]
    async with worker_deps(settings) as deps:
        outcomes = await asyncio.gather(*(run_attempt(deps, job["id"], 1) for job in jobs))
    assert outcomes == ["done"] * len(jobs)
    for n, submitted in enumerate(jobs):
        job = await get_job(client, tenant, submitted["id"])
        assert (job["status"], job["attemptCount"], job["projectId"]) == (
            "DONE",
            1,
            projects[n % 2].id,
        )
        (post,) = await posts_of_job(sessionmaker, submitted["id"])
        assert post.project_id == projects[n % 2].id
        assert post.content == (
            f"Scripted post for {submitted['id']}.\n\nAttempt 1.\n\nSource: Note number {n}."
        )
