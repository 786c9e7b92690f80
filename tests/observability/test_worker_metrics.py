"""A worker process's own Prometheus endpoint (SCRIPE_WORKER_METRICS_PORT), scraped over HTTP
after it ran jobs: what an operator graphs for the workers (a fresh process, so exact counts)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.settings import Settings
from tests.assertions import eventually
from tests.cli.conftest import free_port
from tests.factories import Factory
from tests.jobs.calls import claim_and_die, poll_job, submit_generation
from tests.scripted_provider import script
from tests.workers_support import worker_process

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples | None:
    """Every sample the worker exports, or None while its endpoint is not up yet."""
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
    except httpx.TransportError:
        return None
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_worker_exports_job_counters_durations_sweep_repairs_and_queue_depth(
    database: Database,
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    done = await submit_generation(client, tenant, project.id)
    failed = await submit_generation(
        client, tenant, project.id, text=script(permanent="content_rejected")
    )
    crashed = await submit_generation(client, tenant, project.id)
    # Redis emptied (the two QUEUED jobs' enqueues are lost) and a worker that died right after
    # claiming `crashed`: the sweep must repair all three.
    assert await claim_and_die(database, crashed["id"], 1, timedelta(seconds=0.2))
    await redis.flushdb()

    port = free_port()
    async with worker_process(settings.model_copy(update={"worker_metrics_port": port})):
        ended = [
            await poll_job(client, tenant.headers, job["id"], within=30)
            for job in (done, failed, crashed)
        ]
        assert [job["status"] for job in ended] == ["DONE", "FAILED", "DONE"]
        assert ended[2]["attemptCount"] == 2

        def jobs_counted(samples: Samples | None) -> bool:
            # Counted after each terminal commit, a moment after the API shows the status.
            name = "scripe_job_duration_seconds_count"
            return samples is not None and samples.get((name, job_type)) == 3

        job_type = frozenset({("type", "POST_GENERATION")})
        samples = await eventually(
            lambda: scrape(f"http://127.0.0.1:{port}/metrics"), jobs_counted, within=10
        )
        # Every job has run: the worker's next sweep samples an empty queue.
        drained = await eventually(
            lambda: scrape(f"http://127.0.0.1:{port}/metrics"),
            lambda samples: (
                samples is not None and samples.get(("scripe_queue_depth", frozenset())) == 0
            ),
            within=10,
        )
        assert drained is not None
    assert samples is not None

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, frozenset(labels.items())))

    finished = "scripe_jobs_finished_total"
    assert value(finished, type="POST_GENERATION", status="DONE") == 2
    assert value(finished, type="POST_GENERATION", status="FAILED") == 1
    duration = "scripe_job_duration_seconds"
    assert value(f"{duration}_bucket", type="POST_GENERATION", le="+Inf") == 3
    assert (value(f"{duration}_sum", type="POST_GENERATION") or 0) > 0
    repairs = "scripe_sweep_repairs_total"
    assert value(repairs, kind="requeued") == 2
    assert value(repairs, kind="retried") == 1
    assert value(repairs, kind="exhausted") == 0
