"""`POST /v1/knowledge` for `url` and `youtube` (INGEST.md §3), end to end: the API checks the
request, the worker fetches (a real page on loopback; YouTube's recorded answers replayed
through the transcript library's real code path) and indexes the text like any document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.jobs.execution import run_attempt
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.ingest.test_youtube import (
    MANUAL,
    ReplayAdapter,
    player,
    replay_session,
    timedtext,
    watch_page,
)
from tests.jobs.calls import get_job
from tests.webhooks.receiver import Received, Receiver, receiving
from tests.workers_support import worker_deps

ARTICLE = b"""<html><head><title>Release notes</title></head><body>
<nav>Home | Pricing | Careers</nav>
<article><h1>Release 4.2</h1><p>The scheduler now publishes posts at the minute you chose,
in your own time zone, and retries a failed publication three times before telling you.</p>
<p>Teams can share one voice profile across projects.</p></article>
<footer>Copyright Example Inc.</footer></body></html>"""


async def submit(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/knowledge", headers=tenant.headers, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def passages(sessionmaker: async_sessionmaker[AsyncSession], document_id: str) -> str:
    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT content FROM kb_chunks WHERE document_id = :d ORDER BY position"),
            {"d": document_id},
        )
    return " ".join(rows.scalars().all())


async def test_a_web_page_becomes_a_knowledge_document(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def page(_: Received) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "text/html; charset=utf-8"}, ARTICLE

    tenant = await factory.tenant()
    async with receiving(Receiver(respond=page)) as site, worker_deps(settings) as deps:
        job = await submit(client, tenant, {"type": "url", "url": site.url})
        assert job["type"] == "KB_INGEST_URL"
        assert await run_attempt(deps, job["id"], 1) == "done"
    done = await get_job(client, tenant, job["id"])
    assert done["status"] == "DONE", done
    indexed = await passages(sessionmaker, done["result"]["documentId"])
    assert "retries a failed publication three times" in indexed
    assert "Careers" not in indexed  # boilerplate dropped


async def test_a_youtube_transcript_becomes_a_knowledge_document(
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    adapter = ReplayAdapter(
        watch_page(MANUAL),
        player("player_manual_en.json"),
        timedtext(MANUAL, "lang=en", "timedtext_manual_en.xml"),
    )
    async with worker_deps(settings) as deps:
        deps.youtube_http = replay_session(adapter)
        job = await submit(
            client, tenant, {"type": "youtube", "url": f"https://youtu.be/{MANUAL}", "name": "Demo"}
        )
        assert job["type"] == "KB_INGEST_YOUTUBE"
        assert await run_attempt(deps, job["id"], 1) == "done"
    done = await get_job(client, tenant, job["id"])
    assert done["status"] == "DONE", done
    assert "This is the Surface Go" in await passages(sessionmaker, done["result"]["documentId"])


async def test_a_url_that_may_not_be_fetched_fails_the_job(
    client: httpx.AsyncClient, factory: Factory, settings: Any
) -> None:
    tenant = await factory.tenant()
    strict = settings.model_copy(update={"fetch_allow_private_urls": False})
    async with worker_deps(strict) as deps:
        job = await submit(client, tenant, {"type": "url", "url": "http://127.0.0.1:9/secret"})
        assert await run_attempt(deps, job["id"], 1) == "failed"
    failed = await get_job(client, tenant, job["id"])
    assert failed["status"] == "FAILED"
    assert failed["errorCode"] == "fetch_blocked"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"type": "url"}, 400, "invalid_request", "url"),
        ({"type": "url", "url": "ftp://example.com/a"}, 422, "unprocessable", "url"),
        ({"type": "youtube", "url": "https://vimeo.com/1234"}, 422, "unprocessable", "url"),
        ({"type": "file", "name": "No upload"}, 400, "invalid_request", "uploadId"),
        ({"type": "file", "uploadId": "upl_x"}, 400, "invalid_request", "name"),
        ({"type": "text", "name": "No text"}, 400, "invalid_request", "text"),
        ({"type": "podcast", "url": "https://example.com"}, 422, "unprocessable", "type"),
    ],
)
async def test_a_missing_or_wrong_field_for_the_type(
    client: httpx.AsyncClient,
    factory: Factory,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    tenant = await factory.tenant()
    response = await client.post("/v1/knowledge", headers=tenant.headers, json=body)
    error = assert_error(response, status, code)
    assert error["details"]["field"] == field
    listed = await client.get("/v1/jobs", headers=tenant.headers)
    assert listed.json()["data"] == []
