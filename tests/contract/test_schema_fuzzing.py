"""Schema fuzzing: every operation of the committed `openapi/openapi.json`, against a live server.

Schemathesis generates requests from the spec (its examples, boundary and constraint-breaking
cases, random valid and invalid inputs, then chains that follow the spec's links) and sends them
over real HTTP to the app on a loopback port, backed by the session's Postgres and Redis and a
worker. Every response must conform to the spec: never a 5xx, only documented status codes,
bodies and headers that match their schemas, the documented content type.

The schemathesis CLI runs as a subprocess, bounded and seeded by `schemathesis.toml` beside this
file (its pytest plugin needs the schema at import, or `from_fixture`, which breaks under pytest
9.2: `'Function' object has no attribute '_nodeid'`). Its JSON report is summarised in the
failure message, followed by its own account with a curl command reproducing each failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from scripe_api.db.migrations import project_root
from scripe_api.openapi_export import OPENAPI_PATH
from scripe_api.settings import Settings
from tests.contract.live_server import live_api
from tests.factories import Factory, Tenant

HERE = Path(__file__).parent
CONFIG_PATH = HERE / "schemathesis.toml"
HOOKS_PATH = HERE / "schemathesis_hooks.py"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Far above what the run sends: the rate limiter must never be what answers.
UNLIMITED_RATES = {"read": 1_000_000, "write": 1_000_000, "ai": 1_000_000}
# A hang, not a slow run: the bounded run takes well under a minute.
RUN_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Workspace:
    """A live server and the real resources of the workspace its key belongs to."""

    url: str
    key: str
    ids: dict[str, str]  # projectId, noteId, postId, jobId


@pytest.fixture
async def tenant(factory: Factory) -> Tenant:
    # ENTERPRISE: no daily spend cap, the highest rate-limit multiplier.
    return await factory.tenant(plan="ENTERPRISE")


@pytest.fixture
async def project_id(factory: Factory, tenant: Tenant) -> str:
    return (await factory.project(tenant.workspace.id)).id


@pytest.fixture
def workspace(settings: Settings, tenant: Tenant, project_id: str) -> Iterator[Workspace]:
    # Event streams of jobs that do not end within a request end after a second.
    live = settings.model_copy(
        update={"rate_limits": UNLIMITED_RATES, "events_stream_max_seconds": 1.0}
    )
    with live_api(live, with_worker=True) as url:
        with httpx.Client(base_url=url, headers=tenant.headers, timeout=30) as http:
            ids = _seed(http, project_id)
        yield Workspace(url=url, key=tenant.key, ids=ids)


def _seed(http: httpx.Client, project_id: str) -> dict[str, str]:
    """A note, a post, a finished generation job, a source, a webhook endpoint with a
    delivery, and an upload URL (its id and signed parameters), made through the API itself."""
    note = http.post("/v1/notes", json={"projectId": project_id, "content": "Ship small."})
    source = http.post("/v1/sources", json={"projectId": project_id, "text": "A transcript."})
    upload = http.post("/v1/uploads", json={"contentType": "text/plain"})
    endpoint = http.post(
        "/v1/webhook-endpoints",
        json={"name": "Seed", "url": "http://127.0.0.1:9/hooks", "events": ["note.created"]},
    )
    http.post("/v1/notes", json={"projectId": project_id, "content": "Delivered (or tried)."})
    post = http.post("/v1/posts", json={"projectId": project_id, "content": "Hello."})
    job = http.post(
        "/v1/posts/generations",
        json={
            "projectId": project_id,
            "source": {"text": "Why we ship small."},
            "wait_for_completion_ms": 20_000,
        },
    )
    for response in (note, post, job, source, upload, endpoint):
        assert response.is_success, response.text
    endpoint_id = endpoint.json()["data"]["id"]
    deliveries = http.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()["data"]
    signed = parse_qs(urlsplit(upload.json()["data"]["uploadUrl"]).query)
    return {
        "projectId": project_id,
        "noteId": note.json()["data"]["id"],
        "postId": post.json()["data"]["id"],
        "jobId": job.json()["data"]["id"],
        "sourceId": source.json()["data"]["id"],
        "endpointId": endpoint_id,
        "deliveryId": deliveries[0]["id"],
        # The upload URL's own parameters: a fuzzed PUT may carry a valid signature.
        "uploadId": upload.json()["data"]["id"],
        "expires": signed["expires"][0],
        "signature": signed["signature"][0],
    }


@pytest.mark.slow
def test_every_operation_conforms_to_the_spec(workspace: Workspace, tmp_path: Path) -> None:
    spec_path = project_root() / OPENAPI_PATH
    report_path = tmp_path / "report.json"
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "--config-file",
        str(CONFIG_PATH),
        "run",
        str(spec_path),
        "--url",
        workspace.url,
        "--header",
        f"Authorization: Bearer {workspace.key}",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
    ]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS_PATH),
        "SCRIPE_CONTRACT_IDS": json.dumps(workspace.ids),
    }
    # cwd: schemathesis writes nothing under the work tree.
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    output = f"{run.stdout}\n{run.stderr}"
    assert report_path.exists(), f"schemathesis wrote no report:\n{output}"
    report: dict[str, Any] = json.loads(report_path.read_text())
    assert report["exit_code"] == 0, _explain(report, output)
    assert run.returncode == 0, _explain(report, output)
    # Not vacuous: every operation of the spec was tested, in every phase.
    operations = len(_operations(spec_path))
    assert report["operations"]["tested"] == operations, _explain(report, output)
    assert {name: phase["status"] for name, phase in report["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    ), _explain(report, output)


def _operations(spec_path: Path) -> list[str]:
    spec = json.loads(spec_path.read_text())
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


def _explain(report: dict[str, Any], output: str) -> str:
    """The failures by check and operation, then schemathesis's own account (with a curl
    command reproducing each failing case)."""
    lines = ["schemathesis found responses that break the contract:"]
    for failure in report["failures"]:
        operations = ", ".join(failure["operations"])
        lines.append(f"  {failure['code']} {failure['title']} ×{failure['count']}: {operations}")
    for error in report["errors"]:
        lines.append(f"  error: {error}")
    warnings = {name: operations for name, operations in report["warnings"].items() if operations}
    if warnings:
        lines.append(f"  warnings (failing only if in the config's fail-on): {warnings}")
    return "\n".join(lines) + "\n\n" + output
