"""Commands that run or prepare the service: dev, serve, worker, migrate, openapi.

The web stack (FastAPI, uvicorn, the app) is imported inside the commands that run it, so the
admin commands start without paying for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from redis.exceptions import RedisError

from scripe_api.cli.connection import (
    current_revision,
    database_errors,
    describe_database,
    load_settings,
    open_engine,
    require_head,
    target_settings,
)
from scripe_api.cli.errors import CliError
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption
from scripe_api.cli.output import say
from scripe_api.core.logging import configure_logging
from scripe_api.db import migrations
from scripe_api.resources import create_redis
from scripe_api.settings import Settings

APP_FACTORY = "scripe_api.asgi:create_app_from_env"
# By import path: `serve --workers N` pickles the config for its processes.
HTTP_PROTOCOL = "scripe_api.api.protocol:BoundedHttpProtocol"


def dev(
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="SCRIPE_DATA_DIR",
            help="Where the embedded Postgres, Redis, the dev secret and state.json live.",
        ),
    ] = DATA_DIR_DEFAULT,
    host: Annotated[
        str, typer.Option(envvar="SCRIPE_HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SCRIPE_PORT", help="Port to listen on.")] = 8000,
) -> None:
    """Run the API on embedded Postgres and Redis (data kept in --data-dir).

    The first run creates a demo workspace, project and API key, and prints the key once.
    """
    from scripe_api.cli.dev import run_dev

    run_dev(data_dir, host, port)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: SCRIPE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: SCRIPE_PORT or 8000).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="API processes sharing the port.")] = 1,
) -> None:
    """Run the API in production: configuration from SCRIPE_* variables, database at head."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from scripe_api.cli.server import bind_socket, public_url, run_service, serve_until_stopped
    from scripe_api.main import create_app

    settings = load_settings()
    asyncio.run(_check_database(settings))
    configure_logging(settings)
    host = host if host is not None else settings.host
    port = port if port is not None else settings.port
    sock = bind_socket(host, port)
    with contextlib.closing(sock):
        if workers > 1:
            # Each process builds its own app (and its own pools) from the same environment.
            config = uvicorn.Config(
                APP_FACTORY,
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_config=None,
                http=HTTP_PROTOCOL,
            )
            sock.set_inheritable(True)
            with shared_metrics_directory():
                supervisor = Multiprocess(config, sockets=[sock])  # takes SIGINT/SIGTERM
                say(f"Serving on {public_url(sock)} with {workers} processes.")
                supervisor.run()
            return
        app = create_app(settings)
        run_service(
            serve_until_stopped(
                app,
                sock,
                on_started=lambda: say(f"Serving on {public_url(sock)}."),
                on_stopping=app.state.services.begin_shutdown,
            )
        )


@contextlib.contextmanager
def shared_metrics_directory() -> Iterator[None]:
    """Where the API processes of `serve --workers N` keep their metrics, so that a scrape of
    any one of them reports all of them: PROMETHEUS_MULTIPROC_DIR when the operator set it
    (emptied first: files of an earlier run would be counted again), else a temporary folder."""
    from scripe_api.observability.metrics import MULTIPROCESS_DIR_VARIABLE, SHARED_METRICS_FLAG

    given = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="scripe-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(folder)
    # Only the processes this command spawns sum the folder when scraped: a single `serve` or a
    # worker that merely inherited the variable keeps reporting its own values.
    os.environ[SHARED_METRICS_FLAG] = "1"
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


async def _check_database(settings: Settings) -> None:
    async with open_engine(settings) as engine:
        await require_head(engine)


def worker() -> None:
    """Run a job worker: configuration from SCRIPE_* variables, database at head.

    SIGINT/SIGTERM stop it gracefully: no new claims, running attempts get the grace period.
    """
    from scripe_api.cli.server import run_service
    from workers.main import run_worker

    settings = load_settings()
    asyncio.run(_check_database(settings))
    asyncio.run(_check_redis(settings))
    configure_logging(settings)
    # Announced only once SIGINT/SIGTERM are ours: a supervisor (or a test) that signals as
    # soon as it reads the line gets the graceful stop, not the default termination.
    run_service(run_worker(settings, on_ready=lambda: say("Worker running; Ctrl-C stops it.")))


async def _check_redis(settings: Settings) -> None:
    redis = create_redis(settings)
    try:
        await redis.ping()
    except (OSError, RedisError) as error:
        raise CliError(f"cannot reach Redis (SCRIPE_REDIS_URL): {error}") from None
    finally:
        await redis.aclose()


def migrate(data_dir: DataDirOption = DATA_DIR_DEFAULT) -> None:
    """Upgrade the database to the latest migration.

    Uses SCRIPE_DATABASE_URL, else the database of the `scripe-api dev` running in --data-dir.
    """
    settings = target_settings(data_dir)
    where = describe_database(settings)
    before = asyncio.run(_revision(settings))
    head = migrations.head_revision()
    if before == head:
        say(f"{where} is already at the latest migration ({head}).")
        return
    with database_errors(settings):
        migrations.upgrade(settings)
    after = asyncio.run(_revision(settings))
    say(f"Migrated {where}: {before or '(empty)'} -> {after}.")


async def _revision(settings: Settings) -> str | None:
    async with open_engine(settings) as engine:
        return await current_revision(engine)


def openapi(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; standard output when absent."),
    ] = None,
) -> None:
    """Write the OpenAPI document of the API (what openapi/openapi.json is checked against)."""
    from scripe_api.openapi_export import render_openapi

    document = render_openapi()
    if output is None:
        sys.stdout.write(document)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document)
    except OSError as error:
        raise CliError(f"cannot write {output}: {error.strerror or error}") from None
    say(f"Wrote {output}.")


def register(app: typer.Typer) -> None:
    for command in (dev, serve, worker, migrate, openapi):
        app.command()(command)
