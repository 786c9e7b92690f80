"""EVENTS.md §2: every Job carries its cost — reserved at submit, final from the ledger once it
ends (0 when cancelled), none for test keys and jobs that call no AI provider."""

from __future__ import annotations

import httpx

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.jobs.calls import get_job, poll_job
from tests.scripted_provider import script
from tests.workers_support import running_worker

GENERATIONS = "/v1/posts/generations"


async def test_cost_is_reserved_then_final_from_the_ledger(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = {"projectId": project.id, "source": {"text": script(cost_cents=7)}}
    submitted = (await client.post(GENERATIONS, headers=tenant.headers, json=body)).json()["data"]
    reserved = {"estimatedCents": 5, "reservedCents": 5, "actualCents": None, "state": "reserved"}
    assert submitted["cost"] == reserved
    assert (await get_job(client, tenant, submitted["id"]))["cost"] == reserved
    cancelled = (await client.post(GENERATIONS, headers=tenant.headers, json=body)).json()["data"]
    answer = await client.post(f"/v1/jobs/{cancelled['id']}/cancel", headers=tenant.headers)
    final_zero = {"estimatedCents": 5, "reservedCents": 0, "actualCents": 0, "state": "final"}
    assert answer.json()["data"]["cost"] == final_zero
    assert (await get_job(client, tenant, cancelled["id"]))["cost"] == final_zero
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, submitted["id"], until={"DONE"})
    assert done["cost"] == {
        "estimatedCents": 5,
        "reservedCents": 0,
        "actualCents": 7,
        "state": "final",
    }
    listed = (await client.get("/v1/jobs", headers=tenant.headers)).json()["data"]
    assert {job["id"]: job["cost"]["state"] for job in listed} == {
        submitted["id"]: "final",
        cancelled["id"]: "final",
    }


async def test_nothing_charged_is_cost_none(client: httpx.AsyncClient, factory: Factory) -> None:
    tester = await factory.tenant(mode="test")
    project = await factory.project(tester.workspace.id)
    body = {"projectId": project.id, "source": {"text": "Small teams ship faster."}}
    generated = (await client.post(GENERATIONS, headers=tester.headers, json=body)).json()["data"]
    knowledge = (
        await client.post(
            "/v1/knowledge",
            headers=tester.headers,
            json={"type": "text", "name": "Handbook", "text": "Deploy on Tuesdays."},
        )
    ).json()["data"]
    none = {"estimatedCents": 0, "reservedCents": 0, "actualCents": None, "state": "none"}
    for job in (generated, knowledge):
        assert job["cost"] == none
        assert (await get_job(client, tester, job["id"]))["cost"] == none
