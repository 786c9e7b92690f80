"""The public `scripe-mcp` client (github fcastrosantosapliqo/scripe-mcp, `src/client.ts` and
`src/index.ts`) against a live server: every request shape its 19 tools send — recorded here by
hand from its source (method, path, query, JSON body, its headers: Authorization, always
`Content-Type: application/json`, `Scripe-Api-Version: 2026-08-01`, an optional
Idempotency-Key) — must be answered with a 2xx, as its `request()` throws on anything else.

The five tools that used to fail (flat generation form, notes with `date`/`contentType`,
sources, uploads, knowledge from url/file/youtube) are among them."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scripe_api.settings import Settings
from tests.apps import served
from tests.factories import Factory, Tenant
from tests.ingest.test_youtube import MANUAL
from tests.jobs.calls import poll_job
from tests.webhooks.receiver import Received, Receiver, receiving
from tests.workers_support import running_worker

API_VERSION = "2026-08-01"


class McpClient:
    """What `ScripeClient.request` does: JSON in and out, its three headers, the key."""

    def __init__(self, http: httpx.AsyncClient, tenant: Tenant) -> None:
        self.http = http
        self.key = tenant.key

    async def request(
        self, method: str, path: str, body: Any = None, idempotency_key: str | None = None
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
            "Scripe-Api-Version": API_VERSION,
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = await self.http.request(
            method, f"/v1{path}", headers=headers, json=body if body else None
        )
        assert response.is_success, (
            f"{method} {path} {body}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None


async def test_every_tool_of_the_scripe_mcp_client_gets_a_2xx(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)

    async def page(_: Received) -> tuple[int, dict[str, str], bytes]:
        return (
            200,
            {"content-type": "text/html"},
            b"<html><body><p>Our release notes.</p></body></html>",
        )

    async with (
        served(settings) as url,
        httpx.AsyncClient(base_url=url) as http,
        receiving(Receiver(respond=page)) as site,
        contextlib.AsyncExitStack() as background,
    ):
        mcp = McpClient(http, tenant)
        key = uuid.uuid4().hex
        # scripe_cancel_job, before any worker runs (so the job is still QUEUED); the client
        # reads no answer but a 2xx.
        queued = await mcp.request(
            "POST", "/posts/generations", {"text": "Later.", "projectId": project.id}
        )
        await mcp.request("POST", f"/jobs/{queued['data']['id']}/cancel")
        await background.enter_async_context(running_worker(settings))
        # scripe_health, scripe_get_workspace
        await mcp.request("GET", "/health")
        await mcp.request("GET", "/workspaces/me")
        # scripe_list_projects, scripe_get_project
        await mcp.request("GET", "/projects?limit=50")
        await mcp.request("GET", f"/projects/{project.id}")
        # scripe_create_post, scripe_list_posts, scripe_get_post
        later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        post = await mcp.request(
            "POST",
            "/posts",
            {
                "projectId": project.id,
                "content": "Hello",
                "title": "Hi",
                "contentType": "PERSONAL",
                "scheduledFor": later,
            },
            f"{key}-post",
        )
        await mcp.request("GET", f"/posts?projectId={project.id}&status=draft%2Cscheduled&limit=10")
        await mcp.request("GET", f"/posts/{post['data']['id']}")
        # scripe_create_note (with its slot fields), scripe_list_notes, scripe_get_note
        note = await mcp.request(
            "POST",
            "/notes",
            {
                "projectId": project.id,
                "content": "An idea",
                "date": later,
                "contentType": "EDUCATIONAL",
            },
            f"{key}-note",
        )
        assert note["data"]["slot"]["contentType"] == "EDUCATIONAL"
        await mcp.request("POST", "/notes", {"projectId": project.id, "content": "Plain"})
        await mcp.request(
            "GET", f"/notes?projectId={project.id}&dateFrom=2026-01-01&dateTo=2036-12-31"
        )
        await mcp.request("GET", f"/notes/{note['data']['id']}")
        # scripe_generate_post: the flat form, from text and from a note
        from_text = await mcp.request(
            "POST",
            "/posts/generations",
            {"text": "We shipped.", "projectId": project.id},
            f"{key}-gen",
        )
        from_note = await mcp.request(
            "POST", "/posts/generations", {"noteId": note["data"]["id"], "projectId": project.id}
        )
        # scripe_create_source, scripe_get_source
        source = await mcp.request(
            "POST", "/sources", {"content": "A transcript.", "projectId": project.id}, f"{key}-src"
        )
        await mcp.request("GET", f"/sources/{source['data']['id']}")
        # scripe_create_upload, the PUT, scripe_ingest_file_as_source
        upload = await mcp.request("POST", "/uploads", {"contentType": "text/plain"})
        put = await http.put(
            upload["data"]["uploadUrl"],
            content=b"Notes from the offsite.",
            headers={"Content-Type": "text/plain"},
        )
        assert put.status_code == 200
        file_source = await mcp.request(
            "POST",
            "/sources",
            {"projectId": project.id, "uploadId": upload["data"]["id"], "type": "file"},
            f"{key}-file",
        )
        # scripe_add_to_knowledge_base: text, file, url, youtube
        second = await mcp.request("POST", "/uploads", {"contentType": "text/markdown"})
        await http.put(
            second["data"]["uploadUrl"],
            content=b"# Handbook",
            headers={"Content-Type": "text/markdown"},
        )
        knowledge = [
            await mcp.request(
                "POST",
                "/knowledge",
                {"type": "text", "name": "FAQ", "text": "Plans start at 49 EUR."},
            ),
            await mcp.request(
                "POST",
                "/knowledge",
                {"type": "file", "name": "Handbook", "uploadId": second["data"]["id"]},
            ),
            await mcp.request(
                "POST", "/knowledge", {"type": "url", "url": site.url, "projectId": project.id}
            ),
            await mcp.request(
                "POST",
                "/knowledge",
                {"type": "youtube", "url": f"https://www.youtube.com/watch?v={MANUAL}"},
            ),
        ]
        # scripe_list_jobs, scripe_get_job
        await mcp.request("GET", "/jobs?limit=20")
        for job in (from_text, from_note, file_source, *knowledge[:3]):
            done = await poll_job(http, tenant.headers, job["data"]["id"])
            assert done["status"] == "DONE", done
        # The YouTube document's job is not awaited: its transcript comes from YouTube itself,
        # which this machine cannot reach (tests/ingest/test_knowledge_sources.py replays it).
