"""§1.6 pagination on `GET /v1/projects`: keyset order, limits, cursors, tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scripe_api.db.models import Project
from scripe_api.main import create_app
from tests.apps import serve
from tests.assertions import assert_error
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import Factory, Tenant

ROTATED_SECRET = "rotated-secret-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"


def newest_first(projects: list[Project]) -> list[str]:
    return [p.id for p in sorted(projects, key=lambda p: (p.created_at, p.id), reverse=True)]


async def list_page(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/projects", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def walk(client: httpx.AsyncClient, tenant: Tenant, limit: int) -> list[dict[str, Any]]:
    """Every page, following next_cursor until has_more is false."""
    pages = [await list_page(client, tenant, limit=limit)]
    while pages[-1]["pagination"]["has_more"]:
        assert len(pages) < 100, "the cursor loop does not end"
        cursor = pages[-1]["pagination"]["next_cursor"]
        pages.append(await list_page(client, tenant, limit=limit, cursor=cursor))
    return pages


@pytest.mark.smoke
async def test_pages_cover_every_project_once_newest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 5)
    pages = await walk(client, tenant, limit=2)
    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    for page in pages[:-1]:
        assert page["pagination"]["has_more"] is True
        assert isinstance(page["pagination"]["next_cursor"], str)
    assert pages[-1]["pagination"] == {"next_cursor": None, "has_more": False}
    ids = [item["id"] for page in pages for item in page["data"]]
    assert ids == newest_first(projects)


async def test_exactly_full_last_page_has_no_more(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 4)
    pages = await walk(client, tenant, limit=2)
    assert [len(page["data"]) for page in pages] == [2, 2]
    assert pages[-1]["pagination"] == {"next_cursor": None, "has_more": False}
    assert [item["id"] for page in pages for item in page["data"]] == newest_first(projects)


async def test_page_size_may_change_mid_loop(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 5)
    first = await list_page(client, tenant, limit=1)
    rest = await list_page(client, tenant, limit=10, cursor=first["pagination"]["next_cursor"])
    ids = [item["id"] for item in first["data"] + rest["data"]]
    assert ids == newest_first(projects)
    assert rest["pagination"] == {"next_cursor": None, "has_more": False}


async def test_cursor_survives_deleted_rows(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 4)
    order = newest_first(projects)
    first = await list_page(client, tenant, limit=2)
    async with factory.sessionmaker() as session, session.begin():
        # The row the cursor points at disappears: the keyset continues from its position.
        await session.delete(await session.get(Project, order[1]))
    rest = await list_page(client, tenant, limit=2, cursor=first["pagination"]["next_cursor"])
    assert [item["id"] for item in rest["data"]] == order[2:]


async def test_default_limit_is_50_and_large_limits_are_clamped_to_200(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 201)
    default = await list_page(client, tenant)
    assert len(default["data"]) == 50
    assert default["pagination"]["has_more"] is True
    for limit in (201, 1000):
        clamped = await list_page(client, tenant, limit=limit)
        assert len(clamped["data"]) == 200
        assert clamped["pagination"]["has_more"] is True
    last = await list_page(client, tenant, limit=1000, cursor=clamped["pagination"]["next_cursor"])
    assert len(last["data"]) == 1
    assert last["pagination"] == {"next_cursor": None, "has_more": False}
    ids = [item["id"] for item in clamped["data"] + last["data"]]
    assert ids == newest_first(projects)


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1.5", ""])
async def test_bad_limit(client: httpx.AsyncClient, factory: Factory, limit: str) -> None:
    tenant = await factory.tenant()
    response = await client.get(f"/v1/projects?limit={limit}", headers=tenant.headers)
    assert_error(response, 400, "bad_pagination")


@pytest.mark.parametrize("limit", ["1", "200"])
async def test_limit_bounds_are_accepted(
    client: httpx.AsyncClient, factory: Factory, limit: str
) -> None:
    tenant = await factory.tenant()
    await factory.many_projects(tenant.workspace.id, 2)
    body = await list_page(client, tenant, limit=limit)
    assert len(body["data"]) == min(int(limit), 2)


def tamper(cursor: str) -> list[str]:
    """Variants of a valid cursor a client might send after editing it."""
    payload, version, signature = cursor.split(".")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return [
        f"{flipped}.{version}.{signature}",
        f"{payload}.{version}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{payload}.{int(version) + 1}.{signature}",
        f"{payload}.{signature}",
        cursor + ".x",
        cursor[:-1],
    ]


async def test_tampered_cursor_is_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    await factory.many_projects(tenant.workspace.id, 3)
    cursor = (await list_page(client, tenant, limit=1))["pagination"]["next_cursor"]
    for bad in tamper(cursor):
        response = await client.get("/v1/projects", params={"cursor": bad}, headers=tenant.headers)
        assert_error(response, 400, "bad_cursor")


@pytest.mark.parametrize(
    "cursor", ["garbage", "a.b.c", "a.1.b", "....", "eyJjIjoxfQ.1.AAAAAAAAAAAAAAAAAAAAAA", "é.1.é"]
)
async def test_garbage_cursor_is_refused(
    client: httpx.AsyncClient, factory: Factory, cursor: str
) -> None:
    tenant = await factory.tenant()
    response = await client.get("/v1/projects", params={"cursor": cursor}, headers=tenant.headers)
    assert_error(response, 400, "bad_cursor")


async def test_cursor_from_another_workspace_is_a_bad_cursor(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.tenant()
    other = await factory.tenant()
    await factory.many_projects(owner.workspace.id, 3)
    await factory.many_projects(other.workspace.id, 2)
    cursor = (await list_page(client, owner, limit=1))["pagination"]["next_cursor"]
    response = await client.get("/v1/projects", params={"cursor": cursor}, headers=other.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


async def test_cursor_signed_before_a_secret_rotation_still_works(
    server_urls: tuple[str, str], factory: Factory
) -> None:
    tenant = await factory.tenant()
    projects = await factory.many_projects(tenant.workspace.id, 3)
    before = make_settings(*server_urls, secret_keys={1: TEST_SECRET})
    after = make_settings(*server_urls, secret_keys={2: ROTATED_SECRET, 1: TEST_SECRET})
    async with serve(create_app(before)) as client:
        first = await list_page(client, tenant, limit=1)
    async with serve(create_app(after)) as client:
        second = await list_page(client, tenant, limit=1, cursor=first["pagination"]["next_cursor"])
        third = await list_page(client, tenant, cursor=second["pagination"]["next_cursor"])
    ids = [item["id"] for page in (first, second, third) for item in page["data"]]
    assert ids == newest_first(projects)
    # Once the old secret is retired, its cursors are refused rather than misread.
    retired = make_settings(*server_urls, secret_keys={2: ROTATED_SECRET})
    async with serve(create_app(retired)) as client:
        response = await client.get(
            "/v1/projects",
            params={"cursor": first["pagination"]["next_cursor"]},
            headers=tenant.headers,
        )
    assert_error(response, 400, "bad_cursor")
