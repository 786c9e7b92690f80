"""Production logs of real processes (`scripe-api serve`, `scripe-api worker`), read from their
stderr: JSON lines that name the request, workspace and job, and never a key, even at DEBUG."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripe_api.settings import Settings
from tests.cli.conftest import cli_command, free_port, operator_environment, wait_for_text
from tests.factories import Factory
from tests.jobs.calls import poll_job, submit_generation
from tests.providers.calls import API_KEY, MODEL
from tests.providers.fake_api import FakeApi, Reply, api_error, fake_api

Line = dict[str, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeApi]:
    async with fake_api() as api:
        yield api


def production_env(settings: Settings, **extra: str) -> dict[str, str]:
    """What an operator runs in production (JSON logs), at the most talkative level."""
    return {
        **operator_environment(settings),
        "SCRIPE_ENV": "production",
        "SCRIPE_LOG_LEVEL": "DEBUG",
        **extra,
    }


@asynccontextmanager
async def running(
    command: tuple[str, ...], ready: str, env: dict[str, str], folder: Path
) -> AsyncIterator[Path]:
    """Run a long-lived command until it prints `ready`; yields the file its stderr goes to.

    The process is stopped (SIGTERM) when the block ends, so its log is complete afterwards.
    """
    output, log = folder / f"{command[0]}.out", folder / f"{command[0]}.log"
    with output.open("w") as out, log.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            *cli_command(*command), stdout=out, stderr=err, env=env
        )
    try:
        await wait_for_text(process, output, ready)
        yield log
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


def json_lines(log: Path) -> list[Line]:
    """Every line of the log; each must be one JSON object (what a log shipper parses)."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= set(line), line
    return lines


def of_request(lines: list[Line], response: httpx.Response) -> list[Line]:
    request_id = response.headers["x-request-id"]
    found = [line for line in lines if line.get("request_id") == request_id]
    assert found, f"no log line carries {request_id}"
    return found


async def test_request_lines_name_request_workspace_and_job_and_never_a_key(
    settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    tenant = await factory.tenant(mode="test")
    project = await factory.project(tenant.workspace.id)
    stranger_key = "scripe_sk_live_" + "f" * 40
    port = free_port()
    async with (
        running(
            ("serve", "--port", str(port)), "Serving on", production_env(settings), tmp_path
        ) as log,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        me = await http.get("/v1/workspaces/me", headers=tenant.headers)
        job = await submit_generation(http, tenant, project.id, text=f"My key: {tenant.key}")
        polled = await http.get(f"/v1/jobs/{job['id']}", headers=tenant.headers)
        stranger = await http.get(
            "/v1/workspaces/me", headers={"Authorization": f"Bearer {stranger_key}"}
        )
        in_query = await http.get("/v1/jobs", params={"api_key": tenant.key, "key": tenant.key})
        in_query_too = await http.get(
            "/v1/jobs", params={"api_key": tenant.key}, headers=tenant.headers
        )
        # Percent-encoded, the way it reaches uvicorn's access line unchanged.
        encoded = tenant.key.replace("_", "%5F")
        in_encoded_query = await http.get(f"/v1/jobs?api_key={encoded}", headers=tenant.headers)
        in_unknown_field = await http.post(
            "/v1/posts/generations",
            headers=tenant.headers,
            json={"projectId": project.id, "source": {"text": "x"}, "apiKey": tenant.key},
        )
    statuses = [
        r.status_code
        for r in (me, polled, stranger, in_query, in_query_too, in_encoded_query, in_unknown_field)
    ]
    assert statuses == [200, 200, 401, 401, 200, 200, 400]
    lines = json_lines(log)
    assert any(line["level"] == "debug" for line in lines)

    assert {line.get("workspace_id") for line in of_request(lines, me)} >= {tenant.workspace.id}
    assert job["id"] in {line.get("job_id") for line in of_request(lines, polled)}
    for refused in (stranger, in_query):
        assert all("workspace_id" not in line for line in of_request(lines, refused))
    for response in (in_query_too, in_encoded_query, in_unknown_field):
        assert of_request(lines, response)
    # Any line naming a workspace names the right one (no id bleeds from one request to another).
    assert {line["workspace_id"] for line in lines if "workspace_id" in line} == {
        tenant.workspace.id
    }

    text = log.read_text()
    for secret in (tenant.key, stranger_key):
        assert secret not in text
        assert secret.removeprefix("scripe_sk_live_").removeprefix("scripe_sk_test_") not in text
        assert f"Bearer {secret}" not in text


async def test_worker_lines_name_the_job_and_never_the_provider_key(
    settings: Settings,
    factory: Factory,
    client: httpx.AsyncClient,
    fake: FakeApi,
    tmp_path: Path,
) -> None:
    # A provider that echoes the key it was sent, as some do in their 401 messages.
    fake.replies = [
        Reply.json(
            api_error("invalid_request_error", f"Incorrect API key: {API_KEY}", "invalid_api_key"),
            status=401,
        )
    ]
    env = production_env(
        settings,
        SCRIPE_GENERATOR_PROVIDER="openai",
        SCRIPE_GENERATOR_MODEL=MODEL,
        SCRIPE_OPENAI_BASE_URL=f"{fake.url}/v1",
        SCRIPE_OPENAI_API_KEY=API_KEY,
    )
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with running(("worker",), "Worker running", env, tmp_path) as log:
        job = await submit_generation(client, tenant, project.id)
        failed = await poll_job(client, tenant.headers, job["id"], within=30)
    assert failed["status"] == "FAILED", failed
    assert failed["errorCode"] == "provider_error"
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"

    lines = json_lines(log)
    of_job = [line for line in lines if line.get("job_id") == job["id"]]
    assert any(line["level"] == "warning" and "HTTP 401" in line["message"] for line in of_job)
    # Even at DEBUG the HTTP client writes nothing of its own (its lines carry headers).
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]
    assert API_KEY not in log.read_text()
    assert API_KEY not in json.dumps(failed)
