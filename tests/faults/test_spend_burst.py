"""A workspace at its spend cap, hammered by a concurrent keyed burst, against real processes:
every refused request is a prompt 402 that frees its key, and nothing of it reaches another
tenant — not the pool, not a lock, not a worker's completion (which would otherwise be re-run
and call a paid provider again)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import read_ledger
from tests.faults.processes import api_process, client_of, worker_process
from tests.scripted_provider import release_key, script

CAP = 10
ESTIMATE = 5
BURST = 200


def capped(settings: Settings) -> Settings:
    caps = dict(settings.plan_spend_caps_cents)
    caps["ADVANCED"] = CAP
    # Production pool sizes: the burst is twenty times the pool.
    return settings.model_copy(update={"plan_spend_caps_cents": caps, "db_pool_size": 10})


async def in_flight_keys(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT key FROM idempotency_records WHERE workspace_id = :w "
                "AND state = 'in_flight'"
            ),
            {"w": workspace_id},
        )
        return [row[0] for row in rows]


async def test_a_full_bucket_under_a_keyed_burst_costs_no_other_tenant_anything(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    settings = capped(fault_settings)
    capped_tenant = await fault_factory.tenant()
    capped_project = await fault_factory.project(capped_tenant.workspace.id)
    other = await fault_factory.tenant(plan="BUSINESS")
    other_project = await fault_factory.project(other.workspace.id)
    block = uuid.uuid4().hex
    limits = httpx.Limits(max_connections=BURST + 10)
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(api_process(settings, tmp_path / "api.log"))
        await stack.enter_async_context(worker_process(settings, tmp_path / "worker.log"))
        burster = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=api.url, headers=capped_tenant.headers, timeout=30.0, limits=limits
            )
        )
        bystander = await stack.enter_async_context(client_of(api, **other.headers))
        # The capped workspace fills its bucket with two jobs that run until released: their
        # completions (a reconciliation each, on that bucket) land in the middle of the burst,
        # and cost exactly their estimate, so the bucket stays full.
        held = [
            await submit(burster, capped_project.id, script(block=block, cost_cents=ESTIMATE))
            for _ in range(2)
        ]
        other_job = await submit(bystander, other_project.id, script(sleep_ms=300))

        async def keyed_submit(n: int) -> httpx.Response:
            return await burster.post(
                "/v1/posts/generations",
                headers={"Idempotency-Key": f"burst-{n}"},
                json={"projectId": capped_project.id, "source": {"text": f"Burst {n}."}},
            )

        async def bystander_reads() -> list[httpx.Response]:
            answers = []
            for _ in range(40):
                answers.append(await bystander.get(f"/v1/jobs/{other_job['id']}"))
                answers.append(await bystander.get("/v1/jobs", params={"limit": 5}))
            return answers

        async def release_midway() -> None:
            await asyncio.sleep(0)
            await fault_redis.set(release_key(block), "1")

        burst, reads, _ = await asyncio.gather(
            asyncio.gather(*(keyed_submit(n) for n in range(BURST))),
            bystander_reads(),
            release_midway(),
        )
        # A refused key is free at once: its retry runs again (402 again), never "in use".
        retry = await keyed_submit(0)
        settled = await settle(bystander, [other_job["id"]])
        finished = await settle(burster, [job["id"] for job in held])

    assert {answer.status_code for answer in burst} == {402}, {
        (answer.status_code, answer.text[:100]) for answer in burst if answer.status_code != 402
    }
    for answer in burst:
        meta = assert_error(answer, 402, "spend_cap_exceeded")["meta"]
        assert meta["capCents"] == CAP
        assert meta["estimateCents"] == ESTIMATE
    assert_error(retry, 402, "spend_cap_exceeded")
    assert await in_flight_keys(fault_sessionmaker, capped_tenant.workspace.id) == []
    assert {answer.status_code for answer in reads} == {200}
    assert [job["status"] for job in settled] == ["DONE"]
    # Every job finished on its first attempt with one provider call: no completion met a lock
    # it had to give up on (which would re-run the attempt and pay the provider again).
    assert {(job["status"], job["attemptCount"]) for job in finished} == {("DONE", 1)}
    for tenant_id, job_ids in (
        (capped_tenant.workspace.id, [job["id"] for job in held]),
        (other.workspace.id, [other_job["id"]]),
    ):
        ledger = await read_ledger(fault_sessionmaker, tenant_id)
        assert {job_id: len(ledger.calls[job_id]) for job_id in job_ids} == dict.fromkeys(
            job_ids, 1
        )
