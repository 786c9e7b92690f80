"""Connections Postgres dropped (a restart, a failover) are replaced without restarting the
process: an idle one unseen, by a ping at checkout; a busy one at the cost of one 503."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


async def test_a_dropped_idle_connection_is_replaced_unseen(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    app = create_app(settings.model_copy(update={"db_ping_idle_seconds": 0}))
    async with serve(app) as client:
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        assert await drop_service_connections(sessionmaker) >= 1
        for _ in range(3):
            response = await client.get("/v1/projects", headers=tenant.headers)
            assert response.status_code == 200, response.text


async def test_a_dropped_busy_connection_costs_one_503_never_a_500(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    app = create_app(settings.model_copy(update={"db_ping_idle_seconds": 3600}))
    async with serve(app) as client:
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        assert await drop_service_connections(sessionmaker) >= 1
        statuses = []
        for _ in range(4):
            response = await client.get("/v1/projects", headers=tenant.headers)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.json()["error"]["code"] == "service_unavailable"
                assert response.headers["retry-after"].isdigit()
        # The first request finds its connection dead; SQLAlchemy then recycles the pool.
        assert statuses[0] == 503
        assert statuses[1:] == [200, 200, 200], statuses
