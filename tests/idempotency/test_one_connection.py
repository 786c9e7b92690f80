"""A request never holds two pooled connections at once: with a pool of one connection, every
outcome of a keyed write — accepted, refused by the spend cap, recorded error, replay, sync
wait — still answers at once and leaves the key in the state §3 says."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error
from tests.factories import Factory
from tests.idempotency.records import generate, generation_body, records


def one_connection(settings: Settings, cap: int) -> Settings:
    caps = dict(settings.plan_spend_caps_cents)
    caps["ADVANCED"] = cap
    return settings.model_copy(
        update={
            "plan_spend_caps_cents": caps,
            "db_pool_size": 1,
            "db_max_overflow": 0,
            # A second checkout would wait this long, then fail: the test would see it.
            "db_pool_timeout_seconds": 2,
        }
    )


async def test_every_keyed_outcome_works_with_a_single_pooled_connection(
    settings: Settings, factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    body = generation_body(project.id)
    async with serve(create_app(one_connection(settings, cap=5))) as client:
        accepted = await generate(client, tenant, "fills-the-cap", body)
        refused = await generate(client, tenant, "over-the-cap", body)
        # A 402 is not recorded: the key is free again at once, not "in use" for its lock.
        retried = await generate(client, tenant, "over-the-cap", body)
        unknown = await generate(client, tenant, "no-project", generation_body("proj_missing"))
        replayed = await generate(client, tenant, "no-project", generation_body("proj_missing"))
        waited = await client.post(
            "/v1/posts/generations",
            headers=tenant.headers,
            json={**body, "wait_for_completion_ms": 50},
        )
    assert accepted.status_code == 202, accepted.text
    assert_error(refused, 402, "spend_cap_exceeded")
    assert_error(retried, 402, "spend_cap_exceeded")
    assert_error(unknown, 404, "not_found")
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == unknown.content
    assert_error(waited, 402, "spend_cap_exceeded")
    states = {
        record.key: record.state for record in await records(sessionmaker, tenant.workspace.id)
    }
    assert states == {"fills-the-cap": "completed", "no-project": "completed"}
