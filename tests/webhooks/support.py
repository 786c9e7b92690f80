"""What webhook tests share: an API client and a worker (with its dispatcher) on the same
settings, and the client calls that set endpoints up and read their delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.factories import Tenant
from tests.workers_support import running_worker


@contextlib.asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@contextlib.asynccontextmanager
async def service(settings: Settings, *, worker: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The API (in process) and, unless told otherwise, a worker with its dispatcher."""
    async with api(settings) as client:
        if not worker:
            yield client
            return
        async with running_worker(settings):
            yield client


async def create_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, url: str, events: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints",
        headers=tenant.headers,
        json={"name": "Test receiver", "url": url, "events": events, **extra},
    )
    assert response.status_code == 200, response.text
    endpoint: dict[str, Any] = response.json()["data"]
    return endpoint


async def get_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    endpoint: dict[str, Any] = response.json()["data"]
    return endpoint


async def deliveries(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str, **query: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
        headers=tenant.headers,
        params={"limit": "100", **query},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def wait_for_deliveries(
    client: httpx.AsyncClient,
    tenant: Tenant,
    endpoint_id: str,
    status: str,
    count: int = 1,
    *,
    within: float = 15.0,
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once `count` of them have `status`."""
    deadline = time.monotonic() + within
    while True:
        found = await deliveries(client, tenant, endpoint_id)
        if sum(one["status"] == status for one in found) >= count:
            return found
        assert time.monotonic() < deadline, f"deliveries never reached {status}: {found}"
        await asyncio.sleep(0.05)


async def wait_for_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str, *, within: float = 15.0
) -> dict[str, Any]:
    """The endpoint once it is disabled."""
    deadline = time.monotonic() + within
    while True:
        endpoint = await get_endpoint(client, tenant, endpoint_id)
        if not endpoint["isActive"]:
            return endpoint
        assert time.monotonic() < deadline, f"endpoint never disabled: {endpoint}"
        await asyncio.sleep(0.05)


async def create_note(client: httpx.AsyncClient, tenant: Tenant, project_id: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/notes", headers=tenant.headers, json={"projectId": project_id, "content": "An idea"}
    )
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()["data"]
    return note
