"""§1.5 / §8 with Postgres stopped and restarted under real API and worker processes: every
endpoint answers `503 service_unavailable` with `Retry-After` (never a 500) during the outage,
the pools recover by themselves, and the jobs caught by it end DONE once, with one post each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.embedded import EmbeddedStack
from scripe_api.settings import Settings
from tests.assertions import assert_error, eventually
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import assert_reconciled_once, per_job, posts_of, read_ledger
from tests.faults.openapi_ops import operations
from tests.faults.processes import api_process, client_of, worker_process
from tests.scripted_provider import release_key, script, started_key


async def _every_endpoint_unavailable(client: httpx.AsyncClient) -> None:
    for operation in operations():
        body: dict[str, object] | None = {} if operation.has_body else None
        path = operation.path("job_x")
        if operation.template == "/v1/uploads/{uploadId}/content":
            path += "?expires=1&signature=1.x"  # the signed URL's own parameters
        response = await client.request(
            operation.method, path, json=body, headers={"Idempotency-Key": "k1"}
        )
        if operation.template == "/v1/health":
            assert response.status_code == 503, response.text
            assert response.json()["checks"]["db"]["ok"] is False
            continue
        assert_error(response, 503, "service_unavailable")
        assert response.headers["retry-after"].isdigit(), operation.name


async def test_postgres_stopped_and_restarted(
    fault_settings: Settings,
    fault_stack: EmbeddedStack,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    settings = fault_settings.model_copy(update={"db_connect_timeout_seconds": 1.0})
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    async with (
        api_process(settings, tmp_path / "api.log") as api,
        worker_process(settings, tmp_path / "worker.log"),
        client_of(api, **tenant.headers) as client,
    ):
        # Two attempts held mid-provider-call across the outage, and jobs still queued.
        block = "pg-outage"
        held = [(await submit(client, project.id, script(block=block)))["id"] for _ in range(2)]
        await eventually(
            lambda: fault_redis.exists(*(started_key(job_id, 1) for job_id in held)),
            lambda count: count == len(held),
            within=30,
        )
        await asyncio.to_thread(fault_stack.postgres.stop)
        try:
            await _every_endpoint_unavailable(client)
            # The held attempts finish their provider call while Postgres is away.
            await fault_redis.set(release_key(block), "1")
            listed = await client.get("/v1/jobs")
            assert_error(listed, 503, "service_unavailable")
            live = await client.get("/livez")
            assert live.status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
        finally:
            await asyncio.to_thread(fault_stack.postgres.start)

        async def jobs_listed() -> httpx.Response:
            return await client.get("/v1/jobs")

        recovered = await eventually(jobs_listed, lambda r: r.status_code == 200, within=30)
        assert {job["id"] for job in recovered.json()["data"]} >= set(held)
        health = await eventually(
            lambda: client.get("/v1/health"), lambda r: r.status_code == 200, within=30
        )
        assert health.json()["checks"]["db"]["ok"] is True
        after = [(await submit(client, project.id, script(sleep_ms=50)))["id"] for _ in range(3)]
        jobs = await settle(client, [*held, *after])
    assert [job["status"] for job in jobs] == ["DONE"] * len(jobs), jobs
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert per_job(posts) == {job["id"]: 1 for job in jobs}
    assert_reconciled_once(
        await read_ledger(fault_sessionmaker, tenant.workspace.id), [job["id"] for job in jobs]
    )
