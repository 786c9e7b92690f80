from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth.keys import ALL_SCOPES
from scripe_api.db.models import ApiKey
from tests.cli.conftest import KEY_PATTERN, Cli, id_in
from tests.factories import Factory


async def get_until(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, within: float = 5.0
) -> httpx.Response:
    """The auth cache may hold a key briefly: poll (with a deadline) for the expected answer."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get("/v1/workspaces/me", headers=headers)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


async def test_key_is_shown_once_works_and_revokes(
    cli: Cli,
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    workspace = await factory.workspace()
    created = await cli("keys", "create", "--workspace", workspace.id, "--name", "zapier")
    created.assert_ok()
    secrets = KEY_PATTERN.findall(created.stdout)
    assert len(secrets) == 1
    assert secrets[0].startswith("scripe_sk_live_")
    secret = secrets[0]
    key_id = id_in(created.stdout, "key")

    me = await client.get("/v1/workspaces/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["principal"]["id"] == key_id
    assert len(me.json()["principal"]["scopes"]) == len(ALL_SCOPES)

    async with sessionmaker() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    assert row is not None

    listing = (await cli("keys", "list", "--workspace", workspace.id)).assert_ok().stdout
    line = next(line for line in listing.splitlines() if line.startswith(key_id))
    assert line.split()[1:5] == ["zapier", "live", "all", f"…{secret[-4:]}"]
    assert secret not in listing
    assert secret[:-4] not in listing
    assert row.digest.hex() not in listing

    revoked = (await cli("keys", "revoke", key_id)).assert_ok()
    assert key_id in revoked.stdout
    refused = await get_until(client, {"Authorization": f"Bearer {secret}"}, 401)
    assert refused.json()["error"]["code"] == "key_revoked"
    relisted = (await cli("keys", "list", "--workspace", workspace.id)).stdout
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert relisted.count(today) >= 2  # created and revoked


async def test_test_key_with_scopes_and_expiry(
    cli: Cli, client: httpx.AsyncClient, factory: Factory
) -> None:
    workspace = await factory.workspace()
    expires = date.today() + timedelta(days=30)
    created = await cli(
        "keys",
        "create",
        "--workspace",
        workspace.id,
        "--test",
        "--scope",
        "posts:read",
        "--scope",
        "jobs:read",
        "--expires",
        expires.isoformat(),
    )
    created.assert_ok()
    secret = KEY_PATTERN.search(created.stdout)
    assert secret is not None
    assert secret.group(0).startswith("scripe_sk_test_")
    me = await client.get(
        "/v1/workspaces/me", headers={"Authorization": f"Bearer {secret.group(0)}"}
    )
    assert me.status_code == 200
    assert me.json()["principal"]["scopes"] == ["jobs:read", "posts:read"]
    listing = (await cli("keys", "list", "--workspace", workspace.id)).stdout
    assert f"{expires.isoformat()} 00:00 UTC" in listing
    assert "jobs:read, posts:read" in listing


async def test_bad_key_input_is_one_line(cli: Cli, factory: Factory) -> None:
    workspace = await factory.workspace()
    create = ("keys", "create", "--workspace", workspace.id)
    await cli.assert_each_fails(
        [
            ((*create, "--scope", "admin"), "admin"),
            ((*create, "--expires", "2020-01-01"), "--expires"),
            ((*create, "--expires", "soon"), "--expires"),
            (("keys", "create", "--workspace", "org_missing"), "org_missing"),
            (("keys", "list", "--workspace", "org_missing"), "org_missing"),
            (("keys", "revoke", "key_missing"), "key_missing"),
        ]
    )
