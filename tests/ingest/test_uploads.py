"""Uploads on the embedded disk backend (INGEST.md §1), and what consumes them: file sources
and knowledge documents (§2, §3), end to end through the worker, over real HTTP for the PUT."""

from __future__ import annotations

import asyncio
import io
import math
import struct
import time
import wave
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docx
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.jobs.execution import run_attempt
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.providers.transcription import OpenAITranscriber
from scripe_api.settings import Settings
from tests.apps import served
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.ingest.fixtures_documents import write_zip_bomb_docx
from tests.jobs.calls import get_job, poll_job
from tests.providers.fake_api import Reply, fake_api
from tests.workers_support import running_worker, worker_deps
from workers.jobs.purge_uploads import purge_uploads

MARKDOWN = "text/markdown"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def mint(
    client: httpx.AsyncClient, tenant: Tenant, content_type: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/uploads", headers=tenant.headers, json={"contentType": content_type, **extra}
    )
    assert response.status_code == 200, response.text
    upload: dict[str, Any] = response.json()["data"]
    return upload


async def put(
    client: httpx.AsyncClient, upload: dict[str, Any], body: bytes, content_type: str
) -> httpx.Response:
    # No Authorization: the signed URL is the permission.
    return await client.put(
        upload["uploadUrl"], content=body, headers={"Content-Type": content_type}
    )


async def uploaded(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes, content_type: str
) -> str:
    upload = await mint(client, tenant, content_type)
    response = await put(client, upload, body, content_type)
    assert response.status_code == 200, response.text
    upload_id: str = upload["id"]
    return upload_id


async def test_an_uploaded_docx_becomes_a_knowledge_document(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        upload = await mint(
            client,
            tenant,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        assert upload["uploadUrl"].startswith(f"{url}/v1/uploads/{upload['id']}/content?")
        assert upload["method"] == "PUT"
        assert upload["maxSizeBytes"] == settings.upload_max_document_bytes
        body = docx_bytes("Our onboarding takes three days.", "Every team ships on Tuesdays.")
        stored = await put(client, upload, body, upload["contentType"])
        assert stored.status_code == 200
        assert stored.content == b""
        async with running_worker(settings):
            submitted = await client.post(
                "/v1/knowledge",
                headers=tenant.headers,
                json={
                    "type": "file",
                    "name": "Handbook",
                    "uploadId": upload["id"],
                    "projectId": project.id,
                },
            )
            assert submitted.status_code == 202, submitted.text
            job = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
        assert job["type"] == "KB_INGEST_FILE"
        assert job["status"] == "DONE", job
        document_id = job["result"]["documentId"]
        again = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={"type": "file", "name": "Again", "uploadId": upload["id"]},
        )
        assert_error(again, 409, "upload_consumed")
    async with sessionmaker() as session:
        passages = (
            (
                await session.execute(
                    text("SELECT content FROM kb_chunks WHERE document_id = :d"), {"d": document_id}
                )
            )
            .scalars()
            .all()
        )
    assert "Every team ships on Tuesdays." in " ".join(passages)


async def test_text_and_file_sources(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        long_text = "Customer call notes. " * 200
        created = await client.post(
            "/v1/sources",
            headers=tenant.headers,
            json={"projectId": project.id, "content": long_text, "name": "Call"},
        )
        assert created.status_code == 200, created.text
        source = created.json()["data"]
        assert source["type"] == "text"
        assert source["status"] == "Done"
        assert source["textPreview"] == long_text[:2000]
        assert source["textPreviewTruncated"] is True
        assert source["hasFullText"] is True
        assert "text" not in source
        read = await client.get(f"/v1/sources/{source['id']}", headers=tenant.headers)
        assert read.json()["data"] == source

        upload_id = await uploaded(client, tenant, b"# Launch\n\nWe launched the API.", MARKDOWN)
        async with running_worker(settings):
            submitted = await client.post(
                "/v1/sources",
                headers=tenant.headers,
                json={"type": "file", "projectId": project.id, "uploadId": upload_id},
            )
            assert submitted.status_code == 202, submitted.text
            job = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
            assert job["status"] == "DONE", job
            file_source = (
                await client.get(f"/v1/sources/{job['result']['sourceId']}", headers=tenant.headers)
            ).json()["data"]
            assert file_source["type"] == "file"
            assert file_source["fileType"] == MARKDOWN
            assert "We launched the API." in file_source["textPreview"]

            # A generation from the source uses its full text.
            generation = await client.post(
                "/v1/posts/generations",
                headers=tenant.headers,
                json={"projectId": project.id, "source": {"sourceId": file_source["id"]}},
            )
            assert generation.status_code == 202, generation.text
            done = await poll_job(client, tenant.headers, generation.json()["data"]["id"])
            assert done["status"] == "DONE", done

        both = await client.post(
            "/v1/sources",
            headers=tenant.headers,
            json={"projectId": project.id, "content": "a", "text": "b"},
        )
        assert_error(both, 400, "invalid_request")
        none = await client.post(
            "/v1/sources", headers=tenant.headers, json={"projectId": project.id}
        )
        assert_error(none, 400, "invalid_request")
        unknown = await client.get("/v1/sources/src_nope", headers=tenant.headers)
        assert_error(unknown, 404, "not_found")


async def test_media_without_a_transcription_provider_fails_permanently(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        upload_id = await uploaded(client, tenant, b"RIFF....WAVEfmt ", "audio/wav")
        async with running_worker(settings):
            submitted = await client.post(
                "/v1/sources",
                headers=tenant.headers,
                json={"type": "file", "projectId": project.id, "uploadId": upload_id},
            )
            job = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
    assert job["status"] == "FAILED"
    assert job["errorCode"] == "transcription_unavailable"
    assert job["attemptCount"] == 1
    # A recording reserves the transcription's estimate at submit; refunded in full.
    assert job["cost"]["state"] == "final"
    assert job["cost"]["estimatedCents"] == settings.transcription_estimate_cents
    assert job["cost"]["actualCents"] == 0


async def test_hostile_uploads(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        upload = await mint(client, tenant, "text/plain", maxSizeBytes=100)
        wrong_type = await put(client, upload, b"hello", "text/html")
        assert_error(wrong_type, 400, "invalid_request")
        too_big = await put(client, upload, b"x" * 101, "text/plain")
        assert_error(too_big, 413, "payload_too_large")
        # Ten megabytes to a one-megabyte upload: refused at once, and the client still reads
        # the answer (the rest of the body is drained, not reset under it).
        small = await mint(client, tenant, "text/plain", maxSizeBytes=1024 * 1024)
        huge = await put(client, small, b"z" * (10 * 1024 * 1024), "text/plain")
        assert_error(huge, 413, "payload_too_large")
        # Nothing of a refused PUT is kept: no file, no partial one.
        assert not (settings.uploads_dir / tenant.workspace.id).exists()
        assert list(settings.uploads_dir.glob(".receiving-*")) == []

        # Chunked (no Content-Length): stopped at the cap while streaming.
        async def chunks() -> Any:
            for _ in range(10):
                yield b"y" * 50

        streamed = await client.put(
            upload["uploadUrl"], content=chunks(), headers={"Content-Type": "text/plain"}
        )
        assert_error(streamed, 413, "payload_too_large")

        parts = urlsplit(upload["uploadUrl"])
        query = parse_qs(parts.query)
        tampered = f"{url}{parts.path}?expires={query['expires'][0]}&signature=1.AAAA"
        forged = await client.put(tampered, content=b"hi", headers={"Content-Type": "text/plain"})
        assert_error(forged, 403, "upload_url_invalid")
        later = int(query["expires"][0]) + 60
        extended = f"{url}{parts.path}?expires={later}&signature={query['signature'][0]}"
        stretched = await client.put(
            extended, content=b"hi", headers={"Content-Type": "text/plain"}
        )
        assert_error(stretched, 403, "upload_url_invalid")

        # Not yet completed: referencing it is a 422 (nothing was consumed).
        project = await factory.project(tenant.workspace.id)
        early = await client.post(
            "/v1/sources",
            headers=tenant.headers,
            json={"type": "file", "projectId": project.id, "uploadId": upload["id"]},
        )
        assert_error(early, 422, "upload_not_completed")

        empty = await put(client, upload, b"", "text/plain")
        assert empty.status_code == 200
        second = await put(client, upload, b"again", "text/plain")
        assert_error(second, 409, "upload_already_completed")

        # Another workspace's upload is not found.
        foreign_project = await factory.project(other.workspace.id)
        foreign = await client.post(
            "/v1/sources",
            headers=other.headers,
            json={"type": "file", "projectId": foreign_project.id, "uploadId": upload["id"]},
        )
        assert_error(foreign, 404, "not_found")

        # The empty file is accepted, and fails its ingest as unsupported content.
        async with running_worker(settings):
            submitted = await client.post(
                "/v1/sources",
                headers=tenant.headers,
                json={"type": "file", "projectId": project.id, "uploadId": upload["id"]},
            )
            assert submitted.status_code == 202, submitted.text
            job = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
        assert job["status"] == "FAILED"
        assert job["errorCode"] == "unsupported_content"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contentType": "image/png"}, "contentType"),
        ({"contentType": "text/plain", "maxSizeBytes": 26 * 1024 * 1024}, "maxSizeBytes"),
    ],
)
async def test_uploads_of_what_is_not_accepted(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    tenant = await factory.tenant()
    response = await client.post("/v1/uploads", headers=tenant.headers, json=body)
    error = assert_error(response, 422, "unprocessable")
    assert error["details"]["field"] == field


async def test_a_recording_is_transcribed_by_the_provider_and_billed(
    settings: Settings, factory: Factory, client: httpx.AsyncClient
) -> None:
    """A real WAV the test makes, sent to an OpenAI-compatible transcription endpoint on
    loopback; the source keeps the transcript and its duration, the job its reconciled cost."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with fake_api() as provider, served(settings) as url:
        provider.replies = [
            Reply.json({"text": "We shipped the scheduler today.", "duration": 95.0})
        ]
        async with httpx.AsyncClient(base_url=url) as http:
            upload_id = await uploaded(http, tenant, wav_bytes(), "audio/wav")
            submitted = await http.post(
                "/v1/sources",
                headers=tenant.headers,
                json={"type": "file", "projectId": project.id, "uploadId": upload_id},
            )
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["data"]["id"]
            assert submitted.json()["data"]["cost"]["reservedCents"] == (
                settings.transcription_estimate_cents
            )
        async with worker_deps(settings) as deps:
            deps.providers = ProviderRegistry(
                settings,
                transcriber=OpenAITranscriber(
                    base_url=f"{provider.url}/v1",
                    api_key=None,
                    model="whisper-1",
                    cents_per_minute=0.6,
                ),
            )
            assert await run_attempt(deps, job_id, 1) == "done"
    (request,) = provider.requests
    assert request.path == "/v1/audio/transcriptions"
    job = await get_job(client, tenant, job_id)
    assert job["status"] == "DONE", job
    # 95 s at 0.6¢ a minute: 1¢, rounded up.
    assert job["cost"] == {
        "estimatedCents": settings.transcription_estimate_cents,
        "reservedCents": 0,
        "actualCents": 1,
        "state": "final",
    }
    source = (
        await client.get(f"/v1/sources/{job['result']['sourceId']}", headers=tenant.headers)
    ).json()["data"]
    assert source["textPreview"] == "We shipped the scheduler today."
    assert source["durationSeconds"] == 95.0
    assert source["fileType"] == "audio/wav"


def wav_bytes() -> bytes:
    """Half a second of a 440 Hz tone, 16-bit mono, 16 kHz."""
    rate = 16_000
    frames = b"".join(
        struct.pack("<h", round(12_000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(rate // 2)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(frames)
    return buffer.getvalue()


async def test_a_zip_bomb_docx_upload_fails_its_ingest_and_nothing_else(
    settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    """A DOCX whose document part inflates to 1 GiB (a few MB uploaded): the ingest ends as
    `unsupported_content` (the archive is refused before anything is inflated), the worker
    keeps running, the next upload is indexed."""
    tenant = await factory.tenant()
    bomb = tmp_path / "bomb.docx"
    write_zip_bomb_docx(bomb, 1024)
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        upload_id = await uploaded(client, tenant, bomb.read_bytes(), DOCX)
        fine_id = await uploaded(client, tenant, docx_bytes("A normal handbook."), DOCX)
        async with running_worker(settings):
            jobs = [
                await client.post(
                    "/v1/knowledge",
                    headers=tenant.headers,
                    json={"type": "file", "name": name, "uploadId": upload},
                )
                for name, upload in (("Bomb", upload_id), ("Fine", fine_id))
            ]
            bombed, fine = [
                await poll_job(client, tenant.headers, job.json()["data"]["id"], within=60)
                for job in jobs
            ]
    assert bombed["status"] == "FAILED"
    assert bombed["errorCode"] == "unsupported_content"
    assert fine["status"] == "DONE"


async def test_an_expired_upload_url_is_refused(settings: Settings, factory: Factory) -> None:
    brief = settings.model_copy(update={"upload_url_ttl_seconds": 1.0})
    tenant = await factory.tenant()
    async with served(brief) as url, httpx.AsyncClient(base_url=url) as client:
        upload = await mint(client, tenant, "text/plain")
        expires = int(parse_qs(urlsplit(upload["uploadUrl"]).query)["expires"][0])
        deadline = time.monotonic() + 10
        while time.time() <= expires:  # the URL's own expiry, to the second
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        late = await put(client, upload, b"too late", "text/plain")
        assert_error(late, 403, "upload_url_invalid")


async def test_bytes_never_used_are_deleted_after_the_retention(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        upload_id = await uploaded(client, tenant, b"Never referenced.", "text/plain")
    stored = settings.uploads_dir / tenant.workspace.id / upload_id
    assert stored.exists()
    brief = settings.model_copy(update={"upload_retention_hours": 0.0001})  # 0.36 s
    deadline = time.monotonic() + 10
    async with worker_deps(brief) as deps:
        while upload_id not in await _purged(sessionmaker):
            assert time.monotonic() < deadline, "the upload was never purged"
            await purge_uploads({"deps": deps})
            await asyncio.sleep(0.1)
    assert not stored.exists()


async def _purged(sessionmaker: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessionmaker() as session:
        rows = await session.execute(text("SELECT id FROM uploads WHERE purged_at IS NOT NULL"))
    return set(rows.scalars().all())
