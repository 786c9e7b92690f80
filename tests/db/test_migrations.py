"""Migrations are code: upgrade → the models match the database → downgrade → upgrade again.

Runs in its own database on the test server, so the suite's shared schema is never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scripe_api.db import migrations
from scripe_api.db import models as _models  # noqa: F401  (every table on the metadata)
from scripe_api.db.base import Base
from scripe_api.settings import Settings

pytestmark = pytest.mark.smoke


@pytest.fixture
async def scratch_settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh, empty database, dropped afterwards."""
    url = make_url(base_settings.database_url)
    name = f"scripe_migrations_{uuid4().hex[:12]}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        scratch_url = url.set(database=name).render_as_string(hide_password=False)
        yield base_settings.model_copy(update={"database_url": scratch_url})
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _state(connection: Connection) -> tuple[str | None, set[str]]:
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return migrations.current_revision(connection), tables


async def test_upgrade_matches_models_and_round_trips(scratch_settings: Settings) -> None:
    await asyncio.to_thread(migrations.upgrade, scratch_settings)
    engine = create_async_engine(scratch_settings.database_url)
    try:
        async with engine.connect() as connection:
            revision, tables = await connection.run_sync(_state)
            assert revision == migrations.head_revision()
            assert tables == set(Base.metadata.tables)
            assert await connection.run_sync(_differences) == []

        await asyncio.to_thread(migrations.downgrade, scratch_settings, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_state) == (None, set())

        await asyncio.to_thread(migrations.upgrade, scratch_settings)
        async with engine.connect() as connection:
            assert await connection.run_sync(_state) == (revision, tables)
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
