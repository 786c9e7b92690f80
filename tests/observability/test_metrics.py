"""Prometheus metrics at /metrics: what operators graph and alert on.

Counters are process-wide (every app a test builds shares them), so tests compare readings
taken before and after the behaviour under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.conftest import make_settings
from tests.factories import Factory
from tests.jobs.calls import poll_job, submit_generation
from tests.workers_support import running_worker, settle_unfinished_jobs

CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
async def settled_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    yield
    await settle_unfinished_jobs(sessionmaker)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics, keyed by (name, labels)."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_a_generation_run_to_done_shows_in_the_metrics(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    before = await scrape(client)
    job = await submit_generation(client, tenant, project.id)
    async with running_worker(settings):
        done = await poll_job(client, tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"method": "POST", "route": "/v1/posts/generations"}
    assert delta("scripe_http_requests_total", **route, status="202") == 1
    assert delta("scripe_http_request_duration_seconds_count", **route) == 1
    polled = {"method": "GET", "route": "/v1/jobs/{jobId}", "status": "200"}
    assert delta("scripe_http_requests_total", **polled) >= 1
    # The worker runs in this process, so its counters are in this registry too.
    assert delta("scripe_jobs_finished_total", type="POST_GENERATION", status="DONE") == 1
    assert delta("scripe_job_duration_seconds_count", type="POST_GENERATION") == 1
    assert delta("scripe_job_duration_seconds_sum", type="POST_GENERATION") > 0
    assert delta("scripe_spend_reserved_cents_total") == settings.generation_estimate_cents
    assert ("scripe_queue_depth", frozenset()) in after


async def test_unknown_paths_are_counted_as_unmatched_not_by_path(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    await client.get("/v1/no-such-thing/job_123")
    after = await scrape(client)
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "scripe_http_requests_total", **labels)
        - value(before, "scripe_http_requests_total", **labels)
        == 1
    )
    assert not any("no-such-thing" in dict(key[1]).get("route", "") for key in after)


async def test_a_429_counts_as_a_rate_limit_rejection(settings: Settings, factory: Factory) -> None:
    tenant = await factory.tenant()
    limited = settings.model_copy(update={"rate_limits": {"read": 1, "write": 120, "ai": 60}})
    async with serve(create_app(limited)) as client:
        before = await scrape(client)
        first = await client.get("/v1/workspaces/me", headers=tenant.headers)
        refused = await client.get("/v1/workspaces/me", headers=tenant.headers)
        after = await scrape(client)
    assert [first.status_code, refused.status_code] == [200, 429]
    name = "scripe_rate_limit_rejections_total"
    assert value(after, name, bucket="read") - value(before, name, bucket="read") == 1
    route = {"method": "GET", "route": "/v1/workspaces/me", "status": "429"}
    assert (
        value(after, "scripe_http_requests_total", **route)
        - value(before, "scripe_http_requests_total", **route)
        == 1
    )


async def test_redis_down_counts_fail_open(server_urls: tuple[str, str], factory: Factory) -> None:
    tenant = await factory.tenant()
    settings = make_settings(
        server_urls[0], CLOSED_REDIS, rate_limits={"read": 1, "write": 1, "ai": 1}
    )
    async with serve(create_app(settings)) as client:
        before = await scrape(client)
        answers = [await client.get("/v1/workspaces/me", headers=tenant.headers) for _ in range(2)]
        after = await scrape(client)
    assert [a.status_code for a in answers] == [200, 200]
    name = "scripe_rate_limit_fail_open_total"
    assert value(after, name) - value(before, name) == 2


async def test_metrics_are_not_in_the_openapi_schema_and_need_no_key(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "x-ratelimit-limit" not in response.headers


async def test_metrics_path_null_turns_the_endpoint_off(settings: Settings) -> None:
    async with serve(create_app(settings.model_copy(update={"metrics_path": None}))) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
