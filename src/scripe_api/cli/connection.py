"""Which database a command talks to, and a checked transaction on it.

Production and CI: the `SCRIPE_*` environment (the same configuration the service runs with).
On a laptop: the database of the `scripe-api dev` running in the data folder, with its secret.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pydantic
from alembic.util.exc import CommandError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from scripe_api.cli.devdata import DevData
from scripe_api.cli.errors import CliError, describe_validation
from scripe_api.db import migrations
from scripe_api.db.session import create_engine, create_sessionmaker
from scripe_api.settings import Settings

APPLICATION_NAME = "scripe-api-cli"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, `overrides` first; a bad value is one readable line."""
    try:
        return Settings(**overrides)
    except pydantic.ValidationError as error:
        detail = describe_validation(error, env_prefix="SCRIPE_")
        raise CliError(f"invalid configuration: {detail}") from None
    except SettingsError as error:
        raise CliError(f"invalid configuration: {error}") from None


# What the dev stack changes so a person trying the API sees each state: posts take a few
# seconds with progress along the way, and a third job in a row waits QUEUED (cancellable).
# A SCRIPE_* variable of the same name still wins.
DEV_DEFAULTS: dict[str, Any] = {"offline_pace_seconds": 4.0, "worker_max_jobs": 2}


def dev_settings(data: DevData, database_url: str, redis_url: str, **overrides: Any) -> Settings:
    secret = data.load_or_create_secret()
    defaults = {
        name: value
        for name, value in DEV_DEFAULTS.items()
        if f"SCRIPE_{name.upper()}" not in os.environ
    }
    return load_settings(
        env="dev",
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data.folder,
        secret_keys={1: secret},
        **{**defaults, **overrides},
    )


def target_settings(data_dir: Path) -> Settings:
    """SCRIPE_DATABASE_URL if set, else the running `scripe-api dev` in `data_dir`."""
    if os.environ.get("SCRIPE_DATABASE_URL"):
        return load_settings()
    data = DevData(data_dir.resolve())
    state = data.running_state()
    if state is None:
        raise CliError(
            "no database to use: set SCRIPE_DATABASE_URL (and SCRIPE_SECRET_KEYS), or start "
            f"`scripe-api dev` (none is running with data folder {data_dir})"
        )
    if data.read_secret() is None:
        raise CliError(f"{data.secret_path} is missing; restart `scripe-api dev`")
    return dev_settings(data, state.database_url, state.redis_url)


def describe_database(settings: Settings) -> str:
    """The database URL without its password, after checking it is one the service can use."""
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise CliError("SCRIPE_DATABASE_URL is not a database URL") from None
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "asyncpg":
        raise CliError("SCRIPE_DATABASE_URL must start with postgresql+asyncpg://")
    if url.password is None:
        return settings.database_url
    return url.render_as_string(hide_password=True)


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """Turn connection, driver and Alembic failures into one line naming the database."""
    where = describe_database(settings)
    try:
        yield
    except (OSError, TimeoutError) as error:
        reason = str(error) or type(error).__name__
        raise CliError(f"cannot reach the database at {where}: {reason}") from None
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise CliError(f"database error at {where}: {reason}") from None
    except CommandError as error:
        raise CliError(f"migration failed on {where}: {error}") from None


@asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    describe_database(settings)
    engine = create_engine(settings, application_name=APPLICATION_NAME)
    try:
        with database_errors(settings):
            yield engine
    finally:
        await engine.dispose()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(migrations.current_revision)


async def require_head(engine: AsyncEngine) -> None:
    """Refuse to work on a schema this release does not match (migrate first)."""
    current, head = await current_revision(engine), migrations.head_revision()
    if current != head:
        raise CliError(
            f"the database is at migration {current or '(none)'} but this release needs {head}: "
            "run `scripe-api migrate` first"
        )


@asynccontextmanager
async def admin_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction, committed when the command's block ends without an error."""
    async with open_engine(settings) as engine:
        await require_head(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            yield session
