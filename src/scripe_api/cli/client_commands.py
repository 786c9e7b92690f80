"""`scripe-api client …`: use a Scripe API server the way a customer does, over HTTP with a key.

Nothing here touches the database or the service's code: the commands speak the public v1 API
(see `api_client`), so they work against any server, local or remote.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from ulid import ULID

from scripe_api.cli.api_client import Json, ScripeClient, check_url
from scripe_api.cli.errors import CliError
from scripe_api.cli.output import fields, say, table, when

app = typer.Typer(
    help="Use a Scripe API server over HTTP with an API key: generate posts, list jobs.",
    no_args_is_help=True,
)

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = frozenset({"DONE", "FAILED", "CANCELLED"})
# §4.5: poll once a second, backing off to every 5 s once a job has taken 30 s — when the job's
# event stream cannot be followed (it is followed first, reconnecting up to MAX_STREAMS times).
MAX_STREAMS = 100
POLL_SECONDS = 1.0
SLOW_POLL_SECONDS = 5.0
SLOW_AFTER_SECONDS = 30.0

UrlOption = Annotated[
    str, typer.Option("--url", envvar="SCRIPE_URL", help="Base URL of the Scripe API.")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="SCRIPE_KEY",
        help="API key (scripe_sk_…). Prefer SCRIPE_KEY: options end up in shell history.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


@app.command("generate")
def generate_post(
    project: Annotated[
        str, typer.Option("--project", help="Project id (proj_…).", show_default=False)
    ],
    text: Annotated[
        str | None,
        typer.Option("--text", help="Source text ('-' reads it from stdin).", show_default=False),
    ] = None,
    note: Annotated[
        str | None,
        typer.Option("--note", help="Generate from a note (note_…) instead.", show_default=False),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress, then print the post when done.")
    ] = False,
    scheduled_for: Annotated[
        str | None,
        typer.Option(
            "--scheduled-for",
            metavar="ISO-8601",
            help="Schedule the post, e.g. 2026-12-01T09:00:00Z (a UTC offset is required).",
            show_default=False,
        ),
    ] = None,
    content_type: Annotated[
        str | None,
        typer.Option(
            "--content-type",
            help="PERSONAL, BUSINESS_INTERNAL, BUSINESS_EXTERNAL, EDUCATIONAL or UNKNOWN.",
            show_default=False,
        ),
    ] = None,
    length: Annotated[
        str | None,
        typer.Option("--length", help="short, medium or long.", show_default=False),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a post generation; with --wait, follow the job and print the post."""
    body: Json = {"projectId": project, "source": _source(text, note)}
    if scheduled_for is not None:
        body["scheduledFor"] = scheduled_for
    options = {"contentType": content_type, "length": length}
    if chosen := {name: value for name, value in options.items() if value is not None}:
        body["options"] = chosen
    post: Json | None = None
    with ScripeClient(check_url(url), key) as api:
        # One key per invocation: the client's own retries of this call never submit twice.
        submitted = api.post("/v1/posts/generations", body, idempotency_key=f"cli_{ULID()}")
        job: Json = submitted["data"]
        if not wait:
            if as_json:
                _print_json(job)
            else:
                say(f"Submitted {job['id']} ({job['status']}).")
            return
        try:
            job = _follow(api, job, show_progress=not as_json)
        except KeyboardInterrupt:
            sys.stderr.write(f"Stopped waiting; {job['id']} goes on on the server.\n")
            raise
        if job["status"] == "DONE":
            post = api.get(f"/v1/posts/{job['result']['postId']}")["data"]
    if as_json:
        _print_json({"job": job, "post": post})
    elif post is not None:
        _show_post(job, post)
    _raise_unless_done(job)


@app.command("jobs")
def list_jobs(
    status: Annotated[
        str | None,
        typer.Option(help="Comma-separated: QUEUED, RUNNING, DONE, FAILED, CANCELLED."),
    ] = None,
    job_type: Annotated[
        str | None,
        typer.Option("--type", help="Comma-separated job types, e.g. POST_GENERATION."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many jobs, newest first.")] = 20,
    page_size: Annotated[
        int, typer.Option(min=1, max=200, help="Jobs per request (pages are followed).")
    ] = 50,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the workspace's recent jobs."""
    params = {
        name: value.upper()
        for name, value in (("status", status), ("type", job_type))
        if value is not None
    }
    with ScripeClient(check_url(url), key) as api:
        jobs = list(api.pages("/v1/jobs", params, limit=limit, page_size=page_size))
    if as_json:
        _print_json(jobs)
        return
    rows = [
        [
            job["id"],
            job["type"],
            job["status"],
            str(job["attemptCount"]),
            _when(job["createdAt"]),
            _when(job["completedAt"]),
            job["errorCode"],
        ]
        for job in jobs
    ]
    columns = ["ID", "TYPE", "STATUS", "ATTEMPTS", "CREATED", "COMPLETED", "ERROR"]
    table(columns, rows, empty="No jobs.")


def _source(text: str | None, note: str | None) -> Json:
    if (text is None) == (note is None):
        raise CliError("pass exactly one of --text and --note")
    if note is not None:
        return {"noteId": note}
    assert text is not None
    return {"text": sys.stdin.read() if text == "-" else text}


def _follow(api: ScripeClient, job: Json, *, show_progress: bool) -> Json:
    """Poll `GET /v1/jobs/{id}` until the job ends, drawing its progress on stderr."""
    progress = Progress(
        TextColumn("{task.fields[job_id]}", markup=False),
        TextColumn("{task.fields[status]:<9}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=Console(stderr=True, highlight=False),
        disable=not show_progress,
    )
    started = time.monotonic()
    with progress:
        task = progress.add_task("", total=1.0, job_id=job["id"], status=job["status"])
        _draw(progress, task, job)
        job = _stream(api, job, lambda current: _draw(progress, task, current))
        while True:
            _draw(progress, task, job)
            if job["status"] in TERMINAL:
                return job
            slow = time.monotonic() - started > SLOW_AFTER_SECONDS
            time.sleep(SLOW_POLL_SECONDS if slow else POLL_SECONDS)
            job = api.get(f"/v1/jobs/{job['id']}")["data"]


def _events_path(job: Json) -> str:
    urls = job.get("urls") or {}
    return str(urls.get("events") or f"/v1/jobs/{job['id']}/events")


def _stream(api: ScripeClient, job: Json, draw: Callable[[Json], None]) -> Json:
    """Follow the job's event stream until its `done`, reconnecting where it left off when
    the server ends a stream early (its time is up, it shuts down). The job as last seen; the
    caller polls from there if the stream could not be followed to the end."""
    after: int | None = None
    for _ in range(MAX_STREAMS):
        ended = False
        try:
            for seq, name, data in api.events(_events_path(job), after):
                after = seq if seq is not None else after
                if name in ("status", "done"):
                    job = data
                elif name == "progress":
                    job = {**job, "progress": data}
                draw(job)
                ended = name == "done"
        except CliError:
            return job
        if ended or job["status"] in TERMINAL:
            return job
        time.sleep(POLL_SECONDS)
    return job


def _draw(progress: Progress, task: TaskID, job: Json) -> None:
    status = job["status"]
    snapshot = job.get("progress") or {}
    if status == "DONE":
        progress.update(task, completed=1.0, description="Done", status=status)
    elif status in TERMINAL:
        progress.update(task, description=job.get("errorCode") or status.lower(), status=status)
    else:
        waiting = "Waiting for a worker" if status == "QUEUED" else "Running"
        progress.update(
            task,
            completed=float(snapshot.get("progress") or 0.0),
            description=snapshot.get("message") or waiting,
            status=status,
        )


def _show_post(job: Json, post: Json) -> None:
    fields(
        [
            ("Post", post["id"]),
            ("Title", post.get("title")),
            ("Status", post["status"]),
            ("Scheduled", _when(post.get("scheduledAt"))),
            ("Job", f"{job['id']} ({job['attemptCount']} attempt(s))"),
        ]
    )
    if (job.get("result") or {}).get("scheduleSkipped"):
        say("The schedule had passed by the time the post was saved: it is a draft.")
    say("")
    say(post["content"])


def _raise_unless_done(job: Json) -> None:
    if job["status"] == "FAILED":
        raise CliError(f"job {job['id']} failed: {job['errorCode']}: {job['errorMessage']}")
    if job["status"] != "DONE":
        raise CliError(f"job {job['id']} ended {job['status']}")


def _when(value: str | None) -> str | None:
    return when(datetime.fromisoformat(value)) if value else None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
