"""`scripe-api client`: the CLI as a customer uses it, over real HTTP against a real server
(uvicorn on a loopback port in this event loop) with a real worker, Postgres and Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from scripe_api.observability.metrics import REGISTRY
from scripe_api.settings import Settings
from tests.apps import served
from tests.cli.conftest import Cli, CliResult, free_port
from tests.factories import Factory, Tenant
from tests.jobs.calls import submit_generation
from tests.scripted_provider import script
from tests.workers_support import running_worker


@pytest.fixture
async def api_url(settings: Settings) -> AsyncIterator[str]:
    async with served(settings) as url:
        yield url


def as_customer(cli: Cli, url: str, tenant: Tenant) -> dict[str, str]:
    return {**cli.env, "SCRIPE_URL": url, "SCRIPE_KEY": tenant.key}


def _event_streams_served() -> float:
    labels = {"method": "GET", "route": "/v1/jobs/{jobId}/events", "status": "200"}
    return REGISTRY.get_sample_value("scripe_http_requests_total", labels) or 0.0


def assert_no_key(result: CliResult, key: str) -> None:
    assert key not in result.stdout + result.stderr
    assert key[len("scripe_sk_live_") :] not in result.stdout + result.stderr


async def test_generate_wait_shows_progress_and_prints_the_post(
    cli: Cli, api_url: str, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    streams_before = _event_streams_served()
    async with running_worker(settings):
        result = await cli(
            "client",
            "generate",
            "--project",
            project.id,
            "--text",
            "We cut deploys from 40 minutes to 4.",
            "--wait",
            env=as_customer(cli, api_url, tenant),
        )
    result.assert_ok()
    # The progress came from the job's event stream (the server runs in this process).
    assert _event_streams_served() > streams_before
    async with httpx.AsyncClient(base_url=api_url, headers=tenant.headers) as http:
        jobs = (await http.get("/v1/jobs")).json()["data"]
        assert len(jobs) == 1  # one submission, whatever the client retried
        job = jobs[0]
        assert job["status"] == "DONE"
        post = (await http.get(f"/v1/posts/{job['result']['postId']}")).json()["data"]
    assert post["content"] in result.stdout
    assert "We cut deploys from 40 minutes to 4." in post["content"]
    assert post["id"] in result.stdout
    assert post["status"] in result.stdout  # draft: no --scheduled-for
    # The progress bar is on stderr; piped, it shows its final state.
    assert job["id"] in result.stderr
    assert "DONE" in result.stderr
    assert "100%" in result.stderr
    assert_no_key(result, tenant.key)


async def test_a_failed_job_exits_non_zero_with_its_error_code(
    cli: Cli, api_url: str, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with running_worker(settings):
        result = await cli(
            "client",
            "generate",
            "--project",
            project.id,
            "--text",
            script(permanent="content_rejected"),
            "--wait",
            env=as_customer(cli, api_url, tenant),
        )
    assert result.code == 1, result
    assert "content_rejected" in result.stderr.splitlines()[-1]
    assert result.stderr.splitlines()[-1].startswith("error: job job_")
    assert "FAILED" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_key(result, tenant.key)


async def test_bad_key_wrong_url_and_api_errors_are_one_line_without_the_key(
    cli: Cli, api_url: str, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    bad_key = "scripe_sk_live_" + "0" * 40
    bad = {**cli.env, "SCRIPE_URL": api_url, "SCRIPE_KEY": bad_key}
    generate = ("client", "generate", "--project", project.id, "--text", "Hello.", "--wait")
    refused = await cli.assert_each_fails(
        [
            ((*generate, "--key", bad_key), "invalid_token"),
            (("client", "jobs"), "invalid_token"),
        ],
        env=bad,
    )
    for result in refused:
        assert "(HTTP 401, request req_" in result.stderr  # the request id, for support
        assert_no_key(result, bad_key)
    customer = as_customer(cli, api_url, tenant)
    nowhere = f"http://127.0.0.1:{free_port()}"
    results = await cli.assert_each_fails(
        [
            (("client", "jobs", "--url", nowhere), "cannot reach the Scripe API"),
            (("client", "jobs", "--status", "BOGUS"), "invalid_request"),
        ],
        env=customer,
    )
    for result in results:
        assert_no_key(result, tenant.key)
    shown = (await cli("client", "generate", "--help", env=customer)).assert_ok()
    assert_no_key(shown, tenant.key)


async def test_jobs_follows_pages_up_to_the_limit(cli: Cli, api_url: str, factory: Factory) -> None:
    tenant = await factory.tenant(mode="test")
    project = await factory.project(tenant.workspace.id)
    customer = as_customer(cli, api_url, tenant)
    async with httpx.AsyncClient(base_url=api_url) as http:
        earlier = [(await submit_generation(http, tenant, project.id))["id"] for _ in range(4)]
    submitted = await cli(
        "client", "generate", "--project", project.id, "--text", "Fifth.", "--json", env=customer
    )
    latest = json.loads(submitted.assert_ok().stdout)
    assert latest["status"] == "QUEUED"
    newest_first = [latest["id"], *reversed(earlier)]

    listed, limited, done_only = await asyncio.gather(
        cli("client", "jobs", "--limit", "10", "--page-size", "2", env=customer),
        cli("client", "jobs", "--limit", "3", "--page-size", "2", "--json", env=customer),
        cli("client", "jobs", "--status", "done", env=customer),
    )
    lines = [line for line in listed.assert_ok().stdout.splitlines() if line.startswith("job_")]
    assert [line.split()[0] for line in lines] == newest_first  # three pages of 2, 2, 1
    assert all(line.split()[1:4] == ["POST_GENERATION", "QUEUED", "0"] for line in lines)
    assert [job["id"] for job in json.loads(limited.assert_ok().stdout)] == newest_first[:3]
    assert done_only.assert_ok().stdout.strip() == "No jobs."
