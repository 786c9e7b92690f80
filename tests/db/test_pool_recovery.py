"""Connections Postgres dropped (a restart, a failover) are replaced without restarting the
process."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.factories import Factory


async def drop_service_connections(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """What a Postgres restart does to the service's pooled connections."""
    async with sessionmaker() as session:
        result = await session.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'scripe-api' AND pid <> pg_backend_pid()"
            )
        )
        return int(result.scalar_one())


async def test_dropped_connections_are_replaced_without_a_5xx_storm(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """asyncpg sees a connection Postgres closed as soon as the close arrives, and the pool
    replaces it at checkout; one caught in use fails its statement: at most one 503."""
    tenant = await factory.tenant()
    async with serve(create_app(settings)) as client:
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        assert await drop_service_connections(sessionmaker) >= 1
        statuses = []
        for _ in range(4):
            response = await client.get("/v1/projects", headers=tenant.headers)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.json()["error"]["code"] == "service_unavailable"
                assert response.headers["retry-after"].isdigit()
    assert statuses.count(503) <= 1, statuses
    assert statuses[1:] == [200, 200, 200], statuses


async def _service_backends(sessionmaker: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE application_name = 'scripe-api' AND pid <> pg_backend_pid()"
            )
        )
        return {int(pid) for pid in rows.scalars()}


async def test_answers_to_the_client_cost_no_connection(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A refused key or a foreign id is an answer, not a broken connection: the pool keeps
    its connection (a flood of bogus keys once made Postgres open one per request)."""
    tenant = await factory.tenant()
    other = await factory.tenant()
    foreign = await factory.project(other.workspace.id)
    bogus = {"Authorization": "Bearer scripe_sk_live_" + "0" * 40}
    async with serve(create_app(settings)) as client:
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        before = await _service_backends(sessionmaker)
        for _ in range(20):
            assert (await client.get("/v1/projects", headers=bogus)).status_code == 401
            missing = await client.get(f"/v1/projects/{foreign.id}", headers=tenant.headers)
            assert missing.status_code == 404
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        opened = await _service_backends(sessionmaker) - before
    assert opened == set(), f"{len(opened)} connections opened around 40 refused requests"


async def _backends_named(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> set[int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name},
        )
        return {int(pid) for pid in rows.scalars()}


async def test_connections_past_the_pool_size_are_reused_until_idle(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A peak's extra connections serve the next peak (a worker hovering around the pool size
    opened a backend every few jobs); once idle for db_pool_idle_seconds they close."""
    name = "scripe-api-pool-idle"
    database = Database(
        settings.model_copy(
            update={"db_pool_size": 1, "db_max_overflow": 2, "db_pool_idle_seconds": 0.3}
        ),
        application_name=name,
    )

    async def peak() -> None:
        async def hold() -> None:
            async with database.connection() as connection:
                await connection.fetchval("SELECT pg_sleep(0.05)")

        await asyncio.gather(hold(), hold(), hold())

    try:
        await peak()
        first = await _backends_named(sessionmaker, name)
        assert len(first) == 3
        for _ in range(3):
            await peak()
        assert await _backends_named(sessionmaker, name) == first
        deadline = time.monotonic() + 10
        while len(await _backends_named(sessionmaker, name)) > 1:
            assert time.monotonic() < deadline, "idle connections past the pool size stayed open"
            await asyncio.sleep(0.1)
            async with database.connection() as connection:  # a release trims the idle ones
                await connection.fetchval("SELECT 1")
    finally:
        await database.close()
