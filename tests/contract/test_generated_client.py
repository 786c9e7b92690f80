"""A Python SDK generated from the committed `openapi/openapi.json` works against the live API.

openapi-python-client (in a virtualenv of its own, see generator_venv.py) generates the client;
generated_client_script.py drives it in that virtualenv against the app on a loopback port, with
the session's Postgres and Redis and, for the round trip, a worker (live key: the scripted
provider). A spec the generator warns about, or a field it can only type as `Any`, fails here:
SDK users would get a broken or untyped client.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripe_api.db.migrations import project_root
from scripe_api.openapi_export import OPENAPI_PATH
from scripe_api.settings import Settings
from tests.contract.live_server import live_api
from tests.factories import Factory
from tests.workers_support import running_worker

HERE = Path(__file__).parent
SCRIPT = HERE / "generated_client_script.py"
# The names openapi-python-client derives from the document's title ("Scripe API").
PROJECT = "scripe-api-client"
PACKAGE = "scripe_api_client"
# A hang, not a slow run: each step takes a few seconds.
STEP_TIMEOUT_SECONDS = 120
# A model attribute typed `Any`: a schema the generator could not turn into a type.
UNTYPED_FIELD = re.compile(r"^    (?!additional_properties\b)(\w+): (.*\bAny\b.*)$", re.MULTILINE)


@dataclass(frozen=True)
class GeneratedClient:
    python: Path  # of the virtualenv the SDK is installed in (with its dependencies)
    folder: Path  # the generated package's source


@dataclass(frozen=True)
class Completed:
    returncode: int
    output: str


async def run(*command: str | Path, env: dict[str, str] | None = None) -> Completed:
    process = await asyncio.create_subprocess_exec(
        *map(str, command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return Completed(process.returncode or 0, output.decode(errors="replace"))


@pytest.fixture(scope="module")
async def generated_client(
    openapi_python_client: Path, sdk_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedClient:
    """The SDK generated with the generator's default options and installed with pip, as a
    user would: a package that does not build or install fails here."""
    folder = tmp_path_factory.mktemp("sdk")
    tools = openapi_python_client.parent  # its default post-hook runs its own ruff
    generated = await run(
        openapi_python_client,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        project_root() / OPENAPI_PATH,
        "--output-path",
        folder / PROJECT,
        "--fail-on-warning",
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert generated.returncode == 0, f"the generator rejected the spec:\n{generated.output}"
    complaints = [
        line for line in generated.output.splitlines() if re.search(r"warning|error", line, re.I)
    ]
    assert not complaints, f"the generator complained about the spec:\n{generated.output}"
    python = sdk_python
    # The same version each time: pip would keep an earlier build installed.
    await run(python, "-m", "pip", "uninstall", "--yes", "--quiet", PROJECT)
    installed = await run(
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", folder / PROJECT
    )
    assert installed.returncode == 0, f"pip could not install the SDK:\n{installed.output}"
    return GeneratedClient(python=python, folder=folder / PROJECT / PACKAGE)


def test_generated_models_type_every_field(generated_client: GeneratedClient) -> None:
    untyped = {
        f"{module.stem}.{name}: {annotation}"
        for module in sorted((generated_client.folder / "models").glob("*.py"))
        for name, annotation in UNTYPED_FIELD.findall(module.read_text())
    }
    assert not untyped, (
        "the generator could only type these fields as Any (their schemas are not expressed "
        f"in a form SDK generators understand): {sorted(untyped)}"
    )


async def drive(client: GeneratedClient, scenario: str, env: dict[str, str]) -> dict[str, Any]:
    result = await run(client.python, SCRIPT, PACKAGE, scenario, env=env)
    assert result.returncode == 0, f"the generated client failed ({scenario}):\n{result.output}"
    lines = result.output.strip().splitlines()
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


async def test_generated_client_round_trip(
    generated_client: GeneratedClient, factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant(plan="ENTERPRISE")
    project = await factory.project(tenant.workspace.id)
    with live_api(settings) as url:
        env = {
            **os.environ,
            "SCRIPE_BASE_URL": url,
            "SCRIPE_KEY": tenant.key,
            "SCRIPE_PROJECT_ID": project.id,
        }
        # No worker yet: the job stays QUEUED until the client cancels it.
        cancelled = await drive(generated_client, "cancel", env)
        async with running_worker(settings):
            trip = await drive(generated_client, "round_trip", env)
            ingested = await drive(generated_client, "ingest", env)
        hooks = await drive(generated_client, "webhooks", env)

    assert cancelled["submitted"]["status"] == "QUEUED"
    assert cancelled["cancelled"]["status"] == "CANCELLED"
    assert cancelled["cancelled"]["has_completed_at"]
    assert cancelled["fetched"]["status"] == "CANCELLED"
    # Enums and timestamps arrive as the generated types, not bare strings.
    assert cancelled["fetched"]["status_model"] == "JobStatus"
    assert cancelled["fetched"]["created_at_model"] == "datetime"

    jobs = trip["jobs"]
    assert [job["status"] for job in jobs] == ["DONE"] * len(jobs)
    # The job is typed by its type, and so is its result (not a free-form dict).
    assert {(job["model"], job["result_model"]) for job in jobs} == {
        ("PostGenerationJob", "PostGenerationResult")
    }
    assert cancelled["fetched"]["result_model"] == "NoneType"
    assert all(job["type"] == "POST_GENERATION" and job["attempt_count"] == 1 for job in jobs)
    assert len({post["id"] for post in trip["posts"]}) == len(jobs)
    assert all(post["project_id"] == project.id for post in trip["posts"])

    listed = [job_id for page in trip["pages"] for job_id in page]
    submitted = {job["id"] for job in jobs} | {cancelled["submitted"]["id"]}
    assert len(trip["pages"]) > 1, trip["pages"]
    assert len(listed) == len(set(listed)) == len(submitted)
    assert set(listed) == submitted

    # Uploads, sources and their job parse as their own models.
    assert ingested["upload_model"] == "UploadRead"
    assert ingested["job"]["status"] == "DONE"
    assert ingested["job"]["model"] == "SourceIngestJob"
    assert ingested["result_model"] == "SourceIngestResult"
    assert ingested["source"]["type"] == "file"
    assert "We ship on Tuesdays." in ingested["source"]["preview"]
    assert ingested["text_source"] == {"model": "SourceRead", "status": "Done"}
    # A webhook endpoint's secret only in what create and rotate return.
    assert hooks == {
        "created_model": "WebhookEndpointWithSecret",
        "secret_prefix": "whsec_",
        "read_has_secret": False,
        "rotated": True,
        "events": ["job.completed"],
        "deliveries": 0,
    }
