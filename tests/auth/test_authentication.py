"""§2 authentication: the Authorization header, key states, the auth cache, digests, rotation."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth import management
from scripe_api.core.clock import utc_now
from scripe_api.db.models import ApiKey
from scripe_api.main import create_app
from scripe_api.workspaces import service as workspaces
from tests.apps import serve
from tests.assertions import assert_error, eventually
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import Factory, Tenant

NEW_SECRET = "rotated-secret-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
ME = "/v1/workspaces/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def key_row(sessionmaker: async_sessionmaker[AsyncSession], key_id: str) -> ApiKey:
    async with sessionmaker() as session:
        row = await session.get(ApiKey, key_id)
    assert row is not None
    return row


# The Authorization header


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token scripe_sk_live_" + "a" * 40],
)
async def test_missing_or_non_bearer_header_is_unauthenticated(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    error = assert_error(await client.get(ME, headers=headers), 401, "unauthenticated")
    assert "Bearer" in error["message"]


async def test_key_without_scheme_is_unauthenticated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    response = await client.get(ME, headers={"Authorization": tenant.key})
    assert_error(response, 401, "unauthenticated")


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    response = await client.get(ME, headers={"Authorization": f"bearer {tenant.key}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "token",
    [
        "not-a-key",
        "scripe_sk_live_123",
        "scripe_sk_prod_" + "a" * 40,
        "scripe_sk_live_" + "A" * 40,
        "scripe_sk_live_" + "a" * 41,
        "scripe_sk_live_" + "a" * 40,  # well formed, unknown
        "scripe_sk_test_" + "b" * 40,
    ],
)
async def test_malformed_or_unknown_key_is_invalid(client: httpx.AsyncClient, token: str) -> None:
    assert_error(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_live_and_test_keys_both_authenticate(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    for mode in ("live", "test"):
        tenant = await factory.tenant(mode=mode)
        assert tenant.key.startswith(f"scripe_sk_{mode}_")
        response = await client.get(ME, headers=tenant.headers)
        assert response.status_code == 200, response.text


# Key states


async def test_key_of_a_deleted_workspace_is_invalid(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    async with sessionmaker() as session, session.begin():
        await workspaces.delete_workspace(session, tenant.workspace.id)
    assert_error(await client.get(ME, headers=tenant.headers), 401, "invalid_token")


async def test_revoked_key(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    async with sessionmaker() as session, session.begin():
        await management.revoke_key(session, tenant.key_id)
    error = assert_error(await client.get(ME, headers=tenant.headers), 401, "key_revoked")
    assert tenant.key not in str(error)


async def test_expired_key(client: httpx.AsyncClient, factory: Factory) -> None:
    workspace = await factory.workspace()
    expired = await factory.key(workspace.id, expires_at=utc_now() - timedelta(seconds=1))
    current = await factory.key(workspace.id, expires_at=utc_now() + timedelta(hours=1))
    assert_error(await client.get(ME, headers=bearer(expired.secret)), 401, "key_expired")
    assert (await client.get(ME, headers=bearer(current.secret))).status_code == 200


async def test_key_expires_at_its_expiry_instant(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    # Expiry is judged on the database clock: expiring "now" there means expired.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == tenant.key_id)
            .values(expires_at=func.date_trunc("milliseconds", func.now()))
        )
    assert_error(await client.get(ME, headers=tenant.headers), 401, "key_expired")


async def test_revocation_takes_effect_within_the_cache_ttl(
    server_urls: tuple[str, str],
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    settings = make_settings(*server_urls, auth_cache_ttl_seconds=0.3)
    async with serve(create_app(settings)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        async with sessionmaker() as session, session.begin():
            await management.revoke_key(session, tenant.key_id)

        async def probe() -> httpx.Response:
            return await client.get(ME, headers=tenant.headers)

        response = await eventually(probe, lambda r: r.status_code == 401, within=3.0)
    assert_error(response, 401, "key_revoked")


async def test_without_a_cache_revocation_is_immediate(
    server_urls: tuple[str, str],
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    settings = make_settings(*server_urls, auth_cache_ttl_seconds=0)
    async with serve(create_app(settings)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        async with sessionmaker() as session, session.begin():
            await management.revoke_key(session, tenant.key_id)
        assert_error(await client.get(ME, headers=tenant.headers), 401, "key_revoked")


# What is stored


async def test_key_is_stored_only_as_a_digest(
    factory: Factory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await factory.tenant()
    row = await key_row(sessionmaker, tenant.key_id)
    expected = hmac.new(TEST_SECRET.encode(), tenant.key.encode(), hashlib.sha256).digest()
    assert row.digest == expected
    assert row.secret_version == 1
    secret_part = tenant.key.rsplit("_", 1)[1]
    for column in ApiKey.__table__.columns:
        value = getattr(row, column.key)
        stored = value.hex() if isinstance(value, bytes) else str(value)
        assert secret_part not in stored, column.key
        assert secret_part[:16] not in stored, column.key


async def test_last_used_at_is_written_at_most_once_per_interval(
    server_urls: tuple[str, str],
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    assert (await key_row(sessionmaker, tenant.key_id)).last_used_at is None
    settings = make_settings(*server_urls, last_used_interval_seconds=60)

    async def set_last_used(age: timedelta) -> datetime:
        async with sessionmaker() as session, session.begin():
            db_now = await session.scalar(select(func.date_trunc("milliseconds", func.now())))
            assert isinstance(db_now, datetime)
            await session.execute(
                update(ApiKey).where(ApiKey.id == tenant.key_id).values(last_used_at=db_now - age)
            )
        return db_now - age

    async with serve(create_app(settings)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        assert (await key_row(sessionmaker, tenant.key_id)).last_used_at is not None
        recent = await set_last_used(timedelta(seconds=30))
        for _ in range(3):
            assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        assert (await key_row(sessionmaker, tenant.key_id)).last_used_at == recent
    # Another process (a fresh app) also leaves a write younger than the interval alone...
    async with serve(create_app(settings)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
        assert (await key_row(sessionmaker, tenant.key_id)).last_used_at == recent
    # ...and refreshes an older one.
    stale = await set_last_used(timedelta(seconds=120))
    async with serve(create_app(settings)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
    refreshed = (await key_row(sessionmaker, tenant.key_id)).last_used_at
    assert refreshed is not None
    assert refreshed > stale + timedelta(seconds=100)


# Secret rotation


async def test_rotation_keeps_old_keys_working_and_redigests_them(
    server_urls: tuple[str, str],
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()  # digested under secret version 1
    rotated = make_settings(*server_urls, secret_keys={2: NEW_SECRET, 1: TEST_SECRET})
    async with serve(create_app(rotated)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200
    row = await key_row(sessionmaker, tenant.key_id)
    assert row.secret_version == 2
    assert row.digest == hmac.new(NEW_SECRET.encode(), tenant.key.encode(), hashlib.sha256).digest()
    # Once re-digested, the key no longer needs the old secret at all.
    only_new = make_settings(*server_urls, secret_keys={2: NEW_SECRET})
    async with serve(create_app(only_new)) as client:
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200


async def test_key_not_yet_seen_after_the_old_secret_is_dropped_is_invalid(
    server_urls: tuple[str, str], factory: Factory
) -> None:
    tenant: Tenant = await factory.tenant()  # digested under version 1, never re-digested
    only_new = make_settings(*server_urls, secret_keys={2: NEW_SECRET})
    async with serve(create_app(only_new)) as client:
        assert_error(await client.get(ME, headers=tenant.headers), 401, "invalid_token")
