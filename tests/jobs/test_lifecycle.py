"""§4.2 the happy path, end to end: QUEUED at submit, DONE once a worker ran it, with its post."""

from __future__ import annotations

import httpx

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import poll_job
from tests.workers_support import running_worker


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
    # 25 000 until there is history (tests/jobs/test_estimates.py); earlier tests make some.
    assert isinstance(job["estimatedCompletionMs"], int)
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == 1
    assert done["progress"] is None
    post = await client.get(f"/v1/posts/{done['result']['postId']}", headers=tenant.headers)
    assert post.status_code == 200
    assert post.json()["data"]["status"] == "draft"
    assert post.json()["data"]["projectId"] == project.id
