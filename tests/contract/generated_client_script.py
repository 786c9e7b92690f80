"""Drive the client openapi-python-client generated from openapi/openapi.json, as an SDK user would.

Run by test_generated_client.py with the python of the virtualenv the SDK was pip-installed into
(with its dependencies: httpx, attrs, python-dateutil):

    python generated_client_script.py PACKAGE SCENARIO

with SCRIPE_BASE_URL, SCRIPE_KEY and SCRIPE_PROJECT_ID in the environment. Prints one JSON
object describing what the client saw. A response the client does not parse into the operation's
success model (an error envelope, an undocumented status) ends the script with the response.

Scenarios:
- `cancel`: submit a generation while no worker consumes the queue, then cancel it.
- `round_trip`: submit generations, poll each job to DONE, fetch each post, then list every job
  of the workspace page by page until `has_more` is false.
- `ingest`: mint an upload, PUT a file to its URL, make a file source of it, poll the job to
  DONE and read the source; then a text source.
- `webhooks`: create an endpoint, read it, rotate its secret, list its deliveries.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

POLL_DEADLINE_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.05
PAGE_SIZE = 2
GENERATIONS = 3


class Sdk:
    """The generated package's modules, imported as installed."""

    def __init__(self, package: str) -> None:
        self.package = importlib.import_module(package)
        self.models = importlib.import_module(f"{package}.models")
        self.operations = {
            name: importlib.import_module(f"{package}.api.{tag}.{name}")
            for tag, name in (
                ("posts", "create_post_generation"),
                ("posts", "get_post"),
                ("jobs", "get_job"),
                ("jobs", "list_jobs"),
                ("jobs", "cancel_job"),
                ("uploads", "create_upload"),
                ("sources", "create_source"),
                ("sources", "get_source"),
                ("webhooks", "create_webhook_endpoint"),
                ("webhooks", "get_webhook_endpoint"),
                ("webhooks", "rotate_webhook_secret"),
                ("webhooks", "list_webhook_deliveries"),
            )
        }

    def client(self) -> Any:
        return self.package.AuthenticatedClient(
            base_url=os.environ["SCRIPE_BASE_URL"],
            token=os.environ["SCRIPE_KEY"],
            raise_on_unexpected_status=True,
            timeout=httpx.Timeout(30.0),
        )

    def call(self, client: Any, operation: str, status: int, **arguments: Any) -> Any:
        """The parsed success model of `operation`, which must answer `status`."""
        response = self.operations[operation].sync_detailed(client=client, **arguments)
        if response.status_code != status or hasattr(response.parsed, "error"):
            raise SystemExit(
                f"{operation} answered {response.status_code}, expected {status}: "
                f"{response.content.decode(errors='replace')}"
            )
        return response.parsed


def submit(sdk: Sdk, client: Any, text: str) -> Any:
    body = sdk.models.GenerationCreate.from_dict(
        {"projectId": os.environ["SCRIPE_PROJECT_ID"], "source": {"text": text}}
    )
    return sdk.call(client, "create_post_generation", 202, body=body).data


def describe_job(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": str(job.type_),
        "status": str(job.status),
        "model": type(job).__name__,
        "result_model": type(job.result).__name__,
        "status_model": type(job.status).__name__,
        "has_completed_at": isinstance(job.completed_at, datetime.datetime),
        "created_at_model": type(job.created_at).__name__,
        "attempt_count": job.attempt_count,
    }


def cancel(sdk: Sdk, client: Any) -> dict[str, Any]:
    submitted = submit(sdk, client, "A job to cancel.")
    cancelled = sdk.call(client, "cancel_job", 200, job_id=submitted.id).data
    fetched = sdk.call(client, "get_job", 200, job_id=submitted.id).data
    return {
        "submitted": describe_job(submitted),
        "cancelled": describe_job(cancelled),
        "fetched": describe_job(fetched),
    }


def poll_until_finished(sdk: Sdk, client: Any, job_id: str) -> Any:
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while True:
        job = sdk.call(client, "get_job", 200, job_id=job_id).data
        if str(job.status) in ("DONE", "FAILED", "CANCELLED"):
            return job
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} still {job.status} after {POLL_DEADLINE_SECONDS} s")
        time.sleep(POLL_INTERVAL_SECONDS)


def round_trip(sdk: Sdk, client: Any) -> dict[str, Any]:
    submitted = [
        submit(sdk, client, f"Lesson {number}: ship small.") for number in range(GENERATIONS)
    ]
    jobs, posts = [], []
    for job in submitted:
        finished = poll_until_finished(sdk, client, job.id)
        jobs.append(describe_job(finished))
        # A POST_GENERATION job parses as its own model, its result with a typed post_id.
        post = sdk.call(client, "get_post", 200, post_id=finished.result.post_id).data
        posts.append({"id": post.id, "project_id": post.project_id, "status": str(post.status)})
    pages: list[list[str]] = []
    cursor: str | None = None
    while len(pages) < 100:
        arguments: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor is not None:
            arguments["cursor"] = cursor
        page = sdk.call(client, "list_jobs", 200, **arguments)
        pages.append([job.id for job in page.data])
        if not page.pagination.has_more:
            break
        cursor = page.pagination.next_cursor
    return {"jobs": jobs, "posts": posts, "pages": pages}


def ingest(sdk: Sdk, client: Any) -> dict[str, Any]:
    project_id = os.environ["SCRIPE_PROJECT_ID"]
    upload = sdk.call(
        client,
        "create_upload",
        200,
        body=sdk.models.UploadCreate.from_dict({"contentType": "text/markdown"}),
    ).data
    stored = httpx.put(
        upload.upload_url,
        content=b"# Offsite notes\n\nWe ship on Tuesdays.",
        headers={"Content-Type": "text/markdown"},
    )
    if stored.status_code != 200:
        raise SystemExit(f"the upload PUT answered {stored.status_code}: {stored.text}")
    body = sdk.models.SourceCreate.from_dict(
        {"type": "file", "projectId": project_id, "uploadId": upload.id}
    )
    job = sdk.call(client, "create_source", 202, body=body).data
    finished = poll_until_finished(sdk, client, job.id)
    source = sdk.call(client, "get_source", 200, source_id=finished.result.source_id).data
    text = sdk.call(
        client,
        "create_source",
        200,
        body=sdk.models.SourceCreate.from_dict({"projectId": project_id, "text": "A call."}),
    ).data
    return {
        "upload_model": type(upload).__name__,
        "job": describe_job(finished),
        "result_model": type(finished.result).__name__,
        "source": {"id": source.id, "type": str(source.type_), "preview": source.text_preview},
        "text_source": {"model": type(text).__name__, "status": str(text.status)},
    }


def webhooks(sdk: Sdk, client: Any) -> dict[str, Any]:
    body = sdk.models.WebhookEndpointCreate.from_dict(
        {"name": "SDK", "url": "https://hooks.example.com/scripe", "events": ["job.completed"]}
    )
    created = sdk.call(client, "create_webhook_endpoint", 200, body=body).data
    read = sdk.call(client, "get_webhook_endpoint", 200, endpoint_id=created.id).data
    rotated = sdk.call(client, "rotate_webhook_secret", 200, endpoint_id=created.id).data
    deliveries = sdk.call(client, "list_webhook_deliveries", 200, endpoint_id=created.id)
    return {
        "created_model": type(created).__name__,
        "secret_prefix": created.secret[:6],
        "read_has_secret": hasattr(read, "secret"),
        "rotated": rotated.secret != created.secret,
        "events": [str(event) for event in read.events],
        "deliveries": len(deliveries.data),
    }


SCENARIOS: dict[str, Callable[[Sdk, Any], dict[str, Any]]] = {
    "cancel": cancel,
    "round_trip": round_trip,
    "ingest": ingest,
    "webhooks": webhooks,
}


def main() -> None:
    package, scenario = sys.argv[1], sys.argv[2]
    sdk = Sdk(package)
    with sdk.client() as client:
        print(json.dumps(SCENARIOS[scenario](sdk, client)))


if __name__ == "__main__":
    main()
