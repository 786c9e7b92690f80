"""GETs read in AUTOCOMMIT (no transaction round trips); a write there would commit at once and
never roll back, so a read-only unit of work refuses to write at all."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.api.dependencies import UnitOfWorkDep
from scripe_api.db.models import Workspace
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error


async def workspaces_named(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Workspace).where(Workspace.name == name)
        )
        return int(count or 0)


async def test_a_get_that_tries_to_write_fails_and_writes_nothing(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(settings)

    async def sneaky_write(uow: UnitOfWorkDep) -> dict[str, bool]:
        await uow.session.execute(
            text(
                "INSERT INTO workspaces (id, name, plan, created_at, updated_at) "
                "VALUES ('org_sneaky', 'sneaky', 'ADVANCED', now(), now())"
            )
        )
        return {"wrote": True}

    async def honest_read(uow: UnitOfWorkDep) -> dict[str, int]:
        return {"one": int(await uow.session.scalar(text("SELECT 1")) or 0)}

    app.add_api_route("/v1/test-sneaky-write", sneaky_write, methods=["GET"])
    app.add_api_route("/v1/test-honest-read", honest_read, methods=["GET"])
    async with serve(app) as client:
        refused = await client.get("/v1/test-sneaky-write")
        read = await client.get("/v1/test-honest-read")
    assert_error(refused, 500, "internal_error")
    assert read.json() == {"one": 1}
    assert await workspaces_named(sessionmaker, "sneaky") == 0
