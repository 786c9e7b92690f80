"""Another workspace's jobs do not exist as far as a key can tell (§1.5 `not_found`)."""

from __future__ import annotations

import httpx

from tests.assertions import assert_error
from tests.factories import Factory
from tests.jobs.calls import get_job, submit_generation


async def test_foreign_jobs_are_not_found(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.tenant()
    stranger = await factory.tenant()
    project = await factory.project(owner.workspace.id)
    job = await submit_generation(client, owner, project.id)
    foreign = assert_error(
        await client.get(f"/v1/jobs/{job['id']}", headers=stranger.headers), 404, "not_found"
    )
    unknown = assert_error(
        await client.get("/v1/jobs/job_unknown", headers=stranger.headers), 404, "not_found"
    )
    # Indistinguishable from an id that never existed.
    assert foreign["message"].replace(job["id"], "…") == unknown["message"].replace(
        "job_unknown", "…"
    )
    cancel = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=stranger.headers)
    assert_error(cancel, 404, "not_found")
    listed = await client.get("/v1/jobs", headers=stranger.headers)
    assert listed.json()["data"] == []
    assert (await get_job(client, owner, job["id"]))["status"] == "QUEUED"


async def test_malformed_job_ids_are_unknown(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    for job_id in ("job_%00", "job_%25", "x" * 300):
        assert_error(
            await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers), 404, "not_found"
        )
        cancel = await client.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers)
        assert_error(cancel, 404, "not_found")
