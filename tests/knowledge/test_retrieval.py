"""Which passages a generation sees: the best-ranked of its project's and its workspace-wide
documents, never another project's or another workspace's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.db.pool import Database
from scripe_api.generations.runner import run_generation
from scripe_api.jobs import repository as jobs
from scripe_api.jobs.execution import ClaimedJob
from scripe_api.knowledge import repository
from scripe_api.knowledge.chunking import chunk_text
from scripe_api.providers.base import GeneratedPost, GenerationContext, ProgressCallback
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.workers_support import worker_deps

PRICING = "Our pricing has three tiers: starter, growth and enterprise. Annual plans save 20%."
HIRING = "We are hiring backend engineers in Lisbon; interviews take two rounds."
COFFEE = "The office coffee machine was replaced with an espresso grinder."


async def add(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_id: str,
    project_id: str | None,
    text: str,
) -> None:
    async with sessionmaker() as session, session.begin():
        await repository.add_document(
            session,
            workspace_id=workspace_id,
            project_id=project_id,
            name="Doc",
            chunks=chunk_text(text),
        )


async def claimed_generation(
    database: Database, workspace_id: str, project_id: str, source: str
) -> ClaimedJob:
    """A generation from `source`, as its first attempt's claim reads it (passages included)."""
    job_id = new_id("job")
    async with database.connection() as connection:
        await connection.execute(
            jobs.INSERT_JOB,
            job_id,
            workspace_id,
            project_id,
            "POST_GENERATION",
            "test",
            {"source": {"text": source}},
            None,
            utc_now(),
        )
        row = (await jobs.claim_attempts(connection, [(job_id, 1)], 60.0)).get(job_id)
    assert row is not None
    return ClaimedJob.of(row)


async def passages(
    database: Database, workspace_id: str, project_id: str, source: str
) -> list[str]:
    return (await claimed_generation(database, workspace_id, project_id, source)).passages


async def test_the_most_relevant_passage_ranks_first(
    database: Database, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    workspace = await factory.workspace()
    project = await factory.project(workspace.id)
    for text in (HIRING, PRICING, COFFEE):
        await add(sessionmaker, workspace.id, project.id, text)
    source = "A post about our new pricing: the growth tier and annual plans (don't panic!)."
    found = await passages(database, workspace.id, project.id, source)
    assert found[0] == PRICING
    assert COFFEE not in found
    assert await passages(database, workspace.id, project.id, "zebra quokka") == []


async def test_workspace_wide_documents_reach_every_project_of_that_workspace_only(
    database: Database, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    workspace = await factory.workspace()
    first = await factory.project(workspace.id, name="First")
    second = await factory.project(workspace.id, name="Second")
    other_workspace = await factory.workspace()
    foreign = await factory.project(other_workspace.id)
    await add(sessionmaker, workspace.id, None, PRICING)
    await add(sessionmaker, workspace.id, first.id, HIRING)
    await add(sessionmaker, other_workspace.id, None, "Hiring engineers in Lisbon, pricing tiers.")
    source = "pricing tiers and hiring engineers in Lisbon"
    assert set(await passages(database, workspace.id, first.id, source)) == {PRICING, HIRING}
    # Another project's document is not this project's knowledge.
    assert await passages(database, workspace.id, second.id, source) == [PRICING]
    assert PRICING not in await passages(database, other_workspace.id, foreign.id, source)


class CapturingProvider:
    name = "capturing"
    model: str | None = None
    is_ai = False

    def __init__(self) -> None:
        self.contexts: list[GenerationContext] = []

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        self.contexts.append(context)
        return GeneratedPost(title="Title", content="Content")


async def test_a_generation_is_given_the_relevant_passages(
    factory: Factory,
    settings: Settings,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    workspace = await factory.workspace()
    project = await factory.project(workspace.id)
    await add(sessionmaker, workspace.id, project.id, HIRING)
    await add(sessionmaker, workspace.id, None, PRICING)
    job = await claimed_generation(
        database, workspace.id, project.id, "Announcing annual pricing plans."
    )
    provider = CapturingProvider()

    async def progress(value: float, message: str) -> None:
        return None

    async with worker_deps(settings) as deps:
        deps.providers.offline = provider
        await run_generation(deps, job, 1, progress)
    assert provider.contexts[0].knowledge == [PRICING]
