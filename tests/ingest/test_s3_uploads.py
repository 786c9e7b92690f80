"""Uploads on S3-compatible storage (INGEST.md §1): the upload URL is the store's own presigned
PUT, against a real S3-compatible server (moto's standalone server, over HTTP), and the worker
reads the object back for extraction."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import boto3
import httpx
import pytest

from scripe_api.settings import Settings
from tests.apps import served
from tests.assertions import assert_error
from tests.factories import Factory
from tests.jobs.calls import poll_job
from tests.workers_support import running_worker

BUCKET = "scripe-test-uploads"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server in its own process, with an empty bucket."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the S3 server exited"
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the S3 server never answered"
                time.sleep(0.1)
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.asynccontextmanager
async def s3_service(settings: Settings, endpoint: str) -> AsyncIterator[tuple[Settings, str]]:
    s3 = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": endpoint,
            "s3_bucket": BUCKET,
            "s3_access_key_id": "test",
            "s3_secret_access_key": "test",
        }
    )
    s3 = Settings.model_validate(s3.model_dump() | {"secret_keys": settings.secret_keys})
    async with served(s3) as url:
        yield s3, url


async def test_a_presigned_put_to_the_store_then_a_knowledge_document(
    settings: Settings, factory: Factory, s3_endpoint: str
) -> None:
    tenant = await factory.tenant()
    async with (
        s3_service(settings, s3_endpoint) as (s3, url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        minted = await client.post(
            "/v1/uploads", headers=tenant.headers, json={"contentType": "text/plain"}
        )
        upload = minted.json()["data"]
        assert upload["uploadUrl"].startswith(f"{s3_endpoint}/{BUCKET}/")
        stored = await client.put(
            upload["uploadUrl"],
            content=b"Knowledge kept in a bucket.",
            headers={"Content-Type": "text/plain"},
        )
        assert stored.status_code == 200, stored.text
        async with running_worker(s3):
            submitted = await client.post(
                "/v1/knowledge",
                headers=tenant.headers,
                json={"type": "file", "name": "Bucket", "uploadId": upload["id"]},
            )
            assert submitted.status_code == 202, submitted.text
            job = await poll_job(client, tenant.headers, submitted.json()["data"]["id"])
        assert job["status"] == "DONE", job


async def test_an_object_over_the_size_is_refused_and_deleted(
    settings: Settings, factory: Factory, s3_endpoint: str
) -> None:
    tenant = await factory.tenant()
    async with (
        s3_service(settings, s3_endpoint) as (_, url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        minted = await client.post(
            "/v1/uploads",
            headers=tenant.headers,
            json={"contentType": "text/plain", "maxSizeBytes": 10},
        )
        upload = minted.json()["data"]
        missing = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={"type": "file", "name": "Early", "uploadId": upload["id"]},
        )
        assert_error(missing, 422, "upload_not_completed")
        put = await client.put(
            upload["uploadUrl"], content=b"x" * 50, headers={"Content-Type": "text/plain"}
        )
        assert put.status_code == 200  # the store cannot check a maximum on a presigned PUT
        refused = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={"type": "file", "name": "Too big", "uploadId": upload["id"]},
        )
        assert_error(refused, 413, "payload_too_large")
        # Sent with another Content-Type (a store that does not check its signed headers
        # takes it): the upload is not completed, and the object is deleted.
        await client.put(upload["uploadUrl"], content=b"x", headers={"Content-Type": "text/html"})
        mistyped = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={"type": "file", "name": "Mistyped", "uploadId": upload["id"]},
        )
        assert_error(mistyped, 422, "upload_not_completed")
        again = await client.post(
            "/v1/knowledge",
            headers=tenant.headers,
            json={"type": "file", "name": "Mistyped", "uploadId": upload["id"]},
        )
        assert_error(again, 422, "upload_not_completed")  # nothing stored any more
