"""What a client of the fault suite does: submit generations, poll until jobs settle."""

from __future__ import annotations

from typing import Any

import httpx

from tests.assertions import eventually

TERMINAL = frozenset({"DONE", "FAILED", "CANCELLED"})


async def submit(
    client: httpx.AsyncClient, project_id: str, text: str, **extra: Any
) -> dict[str, Any]:
    """POST /v1/posts/generations; returns the 202's Job."""
    body = {"projectId": project_id, "source": {"text": text}, **extra}
    response = await client.post("/v1/posts/generations", json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def read_jobs(client: httpx.AsyncClient, job_ids: list[str]) -> list[dict[str, Any]]:
    jobs = []
    for job_id in job_ids:
        response = await client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        jobs.append(response.json()["data"])
    return jobs


async def settle(
    client: httpx.AsyncClient, job_ids: list[str], *, within: float = 60.0
) -> list[dict[str, Any]]:
    """The jobs, once every one of them is terminal."""

    async def probe() -> list[dict[str, Any]]:
        return await read_jobs(client, job_ids)

    return await eventually(
        probe, lambda jobs: all(job["status"] in TERMINAL for job in jobs), within=within
    )
