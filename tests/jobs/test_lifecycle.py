from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.workers_support import running_worker

TERMINAL = {"DONE", "FAILED", "CANCELLED"}


async def poll_job(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    job_id: str,
    *,
    until: set[str],
    within: float = 15.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job['status']}"
        await asyncio.sleep(0.05)


async def test_generation_runs_to_done_and_creates_the_post(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    response = await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"text": "We shipped a thing. It was hard."}},
    )
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["status"] == "QUEUED"
    assert job["attemptCount"] == 0
    assert job["estimatedCompletionMs"] == 25000
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"], until=TERMINAL)
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1
    assert done["progress"] is None
    post = await client.get(f"/v1/posts/{done['result']['postId']}", headers=tenant.headers)
    assert post.status_code == 200
    assert post.json()["data"]["status"] == "draft"
    assert post.json()["data"]["projectId"] == project.id
