"""POST /v1/knowledge: a KB_INGEST_TEXT job that a worker turns into a chunked document."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Job, KnowledgeDocument, SpendBucket
from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import JOB_FIELDS, poll_job
from tests.knowledge.calls import chunks_of, post_knowledge, submit_text
from tests.workers_support import running_worker

PARAGRAPH = (
    "Our onboarding checklist has twelve steps and every new engineer ships on day one. "
    "The checklist lives in the repository, next to the code it describes. "
) * 5


async def test_ingest_is_queued_then_done_with_a_document(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # The estimate is service-wide: start from a service whose ingests never finished.
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Job).where(Job.type == "KB_INGEST_TEXT"))
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    text = "\n\n".join([PARAGRAPH] * 6)
    job = await submit_text(client, tenant, text, name="Onboarding", project_id=project.id)
    assert set(job) == JOB_FIELDS
    assert job["type"] == "KB_INGEST_TEXT"
    assert job["status"] == "QUEUED"
    assert job["projectId"] == project.id
    assert job["estimatedCompletionMs"] == 5000
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    document_id = done["result"]["documentId"]
    assert done["result"] == {"documentId": document_id}
    assert document_id.startswith("kb_")
    async with sessionmaker() as session:
        document = await session.get(KnowledgeDocument, document_id)
    assert document is not None
    assert (document.name, document.project_id, document.job_id) == (
        "Onboarding",
        project.id,
        job["id"],
    )
    chunks = await chunks_of(sessionmaker, document_id)
    assert len(chunks) > 1
    assert all(len(chunk.content) <= 1200 for chunk in chunks)
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    # Nothing is lost or cut mid-word: the chunks' words are the text's words.
    assert " ".join(c.content for c in chunks).split() == text.split()


async def test_a_document_without_project_is_workspace_wide(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    job = await submit_text(client, tenant, "Short and sweet.")
    assert job["projectId"] is None
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    async with sessionmaker() as session:
        document = await session.get(KnowledgeDocument, done["result"]["documentId"])
    assert document is not None
    assert (document.workspace_id, document.project_id) == (tenant.workspace.id, None)
    assert [c.content for c in await chunks_of(sessionmaker, document.id)] == ["Short and sweet."]


async def test_ingest_reserves_no_spend(
    client: httpx.AsyncClient, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    await submit_text(client, tenant, "Nothing to pay for.")
    async with sessionmaker() as session:
        buckets = await session.scalar(
            select(func.count())
            .select_from(SpendBucket)
            .where(SpendBucket.workspace_id == tenant.workspace.id)
        )
    assert buckets == 0


async def test_invalid_bodies_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    valid = {"type": "text", "name": "Doc", "text": "Hello."}
    cases: list[tuple[dict[str, object], int, str]] = [
        ({**valid, "extra": 1}, 400, "extra"),
        ({**valid, "text": ""}, 400, "text"),
        ({"type": "text", "text": "Hello."}, 400, "name"),
        ({**valid, "name": "x" * 501}, 400, "name"),
        ({**valid, "type": 3}, 400, "type"),
        ({**valid, "type": "url"}, 400, "url"),
        ({**valid, "type": "file"}, 400, "uploadId"),
        ({**valid, "type": "youtube"}, 400, "url"),
        ({**valid, "type": "podcast"}, 422, "youtube"),
    ]
    for body, status, fragment in cases:
        response = await post_knowledge(client, tenant, body)
        assert response.status_code == status, (body, response.text)
        assert fragment in response.text, (body, response.text)
    unsupported = (await post_knowledge(client, tenant, {**valid, "type": "podcast"})).json()
    assert unsupported["error"]["code"] == "unprocessable"
    assert unsupported["error"]["details"]["supported"] == ["text", "file", "url", "youtube"]


async def test_text_over_one_megabyte_is_too_large(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    text = "a" * (1024 * 1024 + 1)  # the whole body stays under the endpoint's 1.1 MB cap
    response = await post_knowledge(client, tenant, {"type": "text", "name": "Big", "text": text})
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "text" in error["message"]


async def test_foreign_or_unknown_project_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    foreign = await factory.project(other.workspace.id)
    for project_id in (foreign.id, "proj_nope"):
        response = await post_knowledge(
            client, tenant, {"type": "text", "name": "Doc", "text": "Hi.", "projectId": project_id}
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"


async def test_needs_the_knowledge_write_scope(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant(scopes=("posts:write",))
    response = await post_knowledge(client, tenant, {"type": "text", "name": "Doc", "text": "Hi."})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "scope_missing"
