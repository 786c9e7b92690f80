"""`scripe-api dev`: embedded Postgres and Redis, migrations, demo data, then API + worker.

Everything it starts, it stops: on Ctrl-C or SIGTERM the API shuts down gracefully, then Redis
and Postgres are stopped, so no server outlives the command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from types import FrameType

from scripe_api.cli.connection import admin_session, dev_settings
from scripe_api.cli.devdata import DevData, DevState, is_alive
from scripe_api.cli.errors import CliError
from scripe_api.cli.output import say
from scripe_api.cli.seed import Seeded, first_workspace_id, seed_demo
from scripe_api.cli.server import (
    STOP_SIGNALS,
    Companion,
    bind_socket,
    public_url,
    run_service,
    serve_until_stopped,
)
from scripe_api.core.logging import configure_logging
from scripe_api.db import migrations
from scripe_api.embedded import EmbeddedStack
from scripe_api.main import create_app
from scripe_api.settings import Settings


def dev_companions(settings: Settings) -> list[Companion]:
    """What runs beside the API in the dev process: the job worker."""
    # Imported here: workers build on scripe_api, and only `dev` needs them in this process.
    from workers.main import create_worker

    worker = create_worker(settings, handle_signals=False)
    grace = settings.worker_shutdown_grace_seconds

    async def run_worker(stopping: asyncio.Event) -> None:
        await worker.run_until(stopping, grace)

    # run_until allows `grace` for running attempts, then up to 5 s to close.
    return [Companion("the worker", run_worker, grace_seconds=grace + 6)]


def run_dev(data_dir: Path, host: str, port: int) -> None:
    data = DevData(data_dir.resolve())
    running = data.running_state()
    if running is not None:
        raise CliError(
            f"{data.folder} is in use by another scripe-api dev (pid {running.pid}, "
            f"serving {running.api_url}); stop it or pass another --data-dir"
        )
    stop = _StartupStop()
    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    sock = bind_socket(host, port)
    try:
        stack = EmbeddedStack(data.folder, durable=True)
        say(f"Starting Postgres and Redis in {data.folder} ...")
        # start() stops whatever it started if it fails, and refuses a folder another
        # process holds; only after it succeeds are the servers ours to stop.
        database_url, redis_url = stack.start()
        try:
            settings = dev_settings(data, database_url, redis_url, host=host, port=port)
            configure_logging(settings)
            migrations.upgrade(settings)
            run_service(_seed_and_serve(settings, data, sock, stop))
        finally:
            _stop_servers(stack, data)
    finally:
        sock.close()


def _stop_servers(stack: EmbeddedStack, data: DevData) -> None:
    # A second Ctrl-C must not interrupt stopping the servers and leave orphans.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    try:
        data.remove_state(os.getpid())
    finally:
        stack.stop()
    # EmbeddedPostgres.stop does not report a failed `pg_ctl stop`: check, and retry once.
    if _running_postmaster(stack) is not None:
        stack.postgres.stop()
    leftover = _running_postmaster(stack)
    if leftover is not None:
        raise CliError(
            f"Postgres (pid {leftover}) did not stop; stop it with `kill -INT {leftover}`"
        )
    say("Stopped the API, worker, Redis and Postgres.")


def _running_postmaster(stack: EmbeddedStack) -> int | None:
    try:
        pid = int((stack.postgres.pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if is_alive(pid) else None


class _StartupStop:
    """SIGINT/SIGTERM before the server is up: unwind like Ctrl-C, so the cleanup runs.

    The request is also remembered: Python drops a KeyboardInterrupt that lands inside a
    finalizer, and a stop asked for during startup must not be lost that way.
    """

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        raise KeyboardInterrupt


async def _seed_and_serve(
    settings: Settings, data: DevData, sock: socket.socket, stop: _StartupStop
) -> None:
    async with admin_session(settings) as session:
        seeded = await seed_demo(session, settings)
        workspace_id = seeded.workspace_id if seeded else await first_workspace_id(session)
    url = public_url(sock)
    if seeded is not None:
        _show_seeded(seeded, url)
    else:
        _show_returning(workspace_id)

    def on_started() -> None:
        state = DevState(
            database_url=settings.database_url,
            redis_url=settings.redis_url,
            api_url=url,
            pid=os.getpid(),
        )
        data.write_state(state)
        say(f"Ready: {url} (docs at {url}/docs). Ctrl-C stops the API, worker, Redis and Postgres.")

    app = create_app(settings)
    await serve_until_stopped(
        app,
        sock,
        companions=dev_companions(settings),
        on_started=on_started,
        # Long-polling requests are answered at once instead of holding the shutdown.
        on_stopping=app.state.services.begin_shutdown,
        is_stop_requested=lambda: stop.requested,
    )


def _show_seeded(seeded: Seeded, url: str) -> None:
    say(
        f"First run: created the demo workspace {seeded.workspace_id} (plan ADVANCED), "
        f"project {seeded.project_id} and an API key with every scope."
    )
    say("API key (shown once, store it now):")
    say(f"  {seeded.key_secret}")
    say("Try it:")
    say(f'  curl -H "Authorization: Bearer {seeded.key_secret}" {url}/v1/workspaces/me')


def _show_returning(workspace_id: str | None) -> None:
    target = workspace_id or "<workspace id>"
    say(
        "API key: it was shown on the first run; make another with "
        f"`scripe-api keys create --workspace {target}`."
    )
