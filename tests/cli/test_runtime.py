from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from scripe_api.db.migrations import head_revision
from scripe_api.openapi_export import render_openapi
from scripe_api.settings import Settings
from tests.cli.conftest import (
    Cli,
    clean_environment,
    cli_command,
    free_port,
    operator_environment,
    read_output,
    wait_for_text,
)

EMPTY_DATABASE = "scripe_cli_empty"


@pytest.fixture
async def empty_database(engine: AsyncEngine, base_settings: Settings) -> AsyncIterator[Settings]:
    """Settings pointing at a database with no schema (dropped afterwards)."""
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {EMPTY_DATABASE} WITH (FORCE)"))
        await connection.execute(text(f"CREATE DATABASE {EMPTY_DATABASE}"))
    url = make_url(base_settings.database_url).set(database=EMPTY_DATABASE)
    yield base_settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False)}
    )
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {EMPTY_DATABASE} WITH (FORCE)"))


async def test_openapi_writes_the_rendered_contract(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "out" / "openapi.json"
    (await cli("openapi", "--output", str(target))).assert_ok()
    assert target.read_text() == render_openapi()
    printed = (await cli("openapi")).assert_ok().stdout
    assert json.loads(printed)["info"]["title"] == "Scripe API"


async def test_serve_refuses_an_unmigrated_database_until_migrate(
    cli: Cli, empty_database: Settings
) -> None:
    env = operator_environment(empty_database)
    refused = await cli("serve", "--port", str(free_port()), env=env)
    refused.assert_one_line_error("scripe-api migrate")
    (await cli("workspaces", "list", env=env)).assert_one_line_error("scripe-api migrate")

    migrated = (await cli("migrate", env=env)).assert_ok()
    assert f"(empty) -> {head_revision()}" in migrated.stdout
    again = (await cli("migrate", env=env)).assert_ok()
    assert "already at the latest migration" in again.stdout
    assert (await cli("workspaces", "list", env=env)).assert_ok().stdout.strip() == "No workspaces."


@asynccontextmanager
async def running(
    command: tuple[str, ...], ready: str, env: dict[str, str], output: Path
) -> AsyncIterator[None]:
    """Run a long-lived command until it prints `ready`; afterwards SIGTERM must stop it (0)."""
    with output.open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            *cli_command(*command), stdout=sink, stderr=asyncio.subprocess.STDOUT, env=env
        )
    try:
        await wait_for_text(process, output, ready)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0, read_output(output)


async def test_serve_answers_and_stops_on_sigterm(
    base_settings: Settings, migrated: None, tmp_path: Path
) -> None:
    port = free_port()
    env = operator_environment(base_settings)
    async with (
        running(("serve", "--port", str(port)), "Serving on", env, tmp_path / "serve.out"),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert (await http.get("/livez")).status_code == 200


async def test_worker_runs_until_sigterm(
    base_settings: Settings, migrated: None, tmp_path: Path
) -> None:
    env = operator_environment(base_settings)
    async with running(("worker",), "Worker running", env, tmp_path / "worker.out"):
        pass


async def test_configuration_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    nowhere = ("--data-dir", str(tmp_path / "none"))
    await cli.assert_each_fails(
        [(("workspaces", "list", *nowhere), "SCRIPE_DATABASE_URL"), (("migrate", *nowhere), "dev")],
        env=clean_environment(),
    )
    unreachable = {
        **cli.env,
        "SCRIPE_DATABASE_URL": "postgresql+asyncpg://scripe:hunter2@127.0.0.1:1/scripe",
    }
    results = await cli.assert_each_fails(
        [
            ((*command,), "cannot reach the database")
            for command in (("workspaces", "list"), ("migrate",), ("serve",), ("worker",))
        ],
        env=unreachable,
    )
    assert all("hunter2" not in result.stderr for result in results)
    no_secret = {name: value for name, value in cli.env.items() if name != "SCRIPE_SECRET_KEYS"}
    placeholder = {**cli.env, "SCRIPE_SECRET_KEYS": '{"1": "change-me"}'}
    wrong_driver = {**cli.env, "SCRIPE_DATABASE_URL": "postgresql://127.0.0.1/scripe"}
    for env, fragment in (
        (no_secret, "SCRIPE_SECRET_KEYS"),
        (placeholder, "SCRIPE_SECRET_KEYS"),
        (wrong_driver, "postgresql+asyncpg://"),
    ):
        await cli.assert_each_fails([(("serve",), fragment), (("worker",), fragment)], env=env)
