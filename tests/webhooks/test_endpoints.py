"""The webhook endpoints resource (WEBHOOKS.md §1): CRUD, secrets shown once and stored
encrypted, rotation, URL rules, scope, isolation and idempotency."""

from __future__ import annotations

import base64
from typing import get_args

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import WebhookEndpoint
from scripe_api.db.models.webhook import WEBHOOK_EVENTS
from scripe_api.main import create_app
from scripe_api.settings import Settings
from scripe_api.webhooks.schemas import EventName
from tests.assertions import assert_error
from tests.factories import Factory, Tenant

BODY = {"name": "Receiver", "url": "https://hooks.example.com/scripe", "events": ["job.completed"]}


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict[str, object]:
    response = await client.post(
        "/v1/webhook-endpoints", headers=tenant.headers, json={**BODY, **body}
    )
    assert response.status_code == 200, response.text
    endpoint: dict[str, object] = response.json()["data"]
    return endpoint


async def test_create_shows_the_secret_once_and_stores_it_encrypted(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    endpoint = await create(client, tenant)
    secret = str(endpoint["secret"])
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 24
    assert endpoint["secretLast4"] == secret[-4:]
    assert endpoint["isActive"] is True
    assert endpoint["disabledReason"] is None
    assert endpoint["events"] == ["job.completed"]
    assert endpoint["projectId"] is None
    assert str(endpoint["id"]).startswith("whe_")

    read = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers)
    assert read.status_code == 200
    assert "secret" not in read.json()["data"]
    assert read.json()["data"] == {k: v for k, v in endpoint.items() if k != "secret"}
    listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
    assert [one["id"] for one in listed.json()["data"]] == [endpoint["id"]]
    assert secret not in listed.text

    async with sessionmaker() as session:
        row = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint["id"])
        )
        dump = await session.scalar(
            text("SELECT row_to_json(w)::text FROM webhook_endpoints w WHERE id = :id"),
            {"id": endpoint["id"]},
        )
    assert row is not None
    assert secret not in row.secret_ciphertext
    assert secret not in str(dump)
    assert secret[6:] not in str(dump)


async def test_patch_delete_and_reactivation(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    endpoint = await create(client, tenant)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"

    patched = await client.patch(
        path,
        headers=tenant.headers,
        json={"name": "Renamed", "events": ["post.created", "job.failed"], "projectId": project.id},
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["name"], data["events"], data["projectId"]) == (
        "Renamed",
        ["post.created", "job.failed"],
        project.id,
    )
    assert data["updatedAt"] >= endpoint["updatedAt"]
    cleared = await client.patch(path, headers=tenant.headers, json={"projectId": None})
    assert cleared.json()["data"]["projectId"] is None

    # Disabled by the service (e.g. the receiver said 410): re-activating clears the reason.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE webhook_endpoints SET is_active = false, disabled_reason = 'gone', "
                "failing_since = now() WHERE id = :id"
            ),
            {"id": endpoint["id"]},
        )
    disabled = (await client.get(path, headers=tenant.headers)).json()["data"]
    assert (disabled["isActive"], disabled["disabledReason"]) == (False, "gone")
    assert disabled["failingSince"] is not None
    active = await client.patch(path, headers=tenant.headers, json={"isActive": True})
    data = active.json()["data"]
    assert (data["isActive"], data["disabledReason"], data["failingSince"]) == (True, None, None)

    deleted = await client.delete(path, headers=tenant.headers)
    assert deleted.status_code == 200
    assert deleted.json()["data"]["id"] == endpoint["id"]
    assert_error(await client.get(path, headers=tenant.headers), 404, "not_found")
    assert_error(await client.delete(path, headers=tenant.headers), 404, "not_found")


async def test_rotation_returns_a_new_secret(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    endpoint = await create(client, tenant)
    path = f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret"
    first = await client.post(path, headers=tenant.headers)
    second = await client.post(path, headers=tenant.headers)
    secrets = {endpoint["secret"], first.json()["data"]["secret"], second.json()["data"]["secret"]}
    assert len(secrets) == 3  # not idempotent: every call rotates
    assert second.json()["data"]["secretLast4"] == second.json()["data"]["secret"][-4:]
    # With an Idempotency-Key, the same rotation is replayed, not repeated.
    keyed = {**tenant.headers, "Idempotency-Key": "rotate-1"}
    once = await client.post(path, headers=keyed)
    again = await client.post(path, headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == once.json()


async def test_idempotent_create_replays_the_secret_it_keeps_sealed(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    keyed = {**tenant.headers, "Idempotency-Key": "create-endpoint-1"}
    first = await client.post("/v1/webhook-endpoints", headers=keyed, json=BODY)
    second = await client.post("/v1/webhook-endpoints", headers=keyed, json=BODY)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    secret = first.json()["data"]["secret"]
    async with sessionmaker() as session:
        recorded = await session.scalar(
            text("SELECT response_body FROM idempotency_records WHERE workspace_id = :w"),
            {"w": tenant.workspace.id},
        )
    assert recorded is not None
    assert recorded.startswith("sealed:")
    assert secret not in recorded
    assert secret[6:] not in recorded
    listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
    assert len(listed.json()["data"]) == 1
    conflict = await client.post(
        "/v1/webhook-endpoints", headers=keyed, json={**BODY, "name": "Other"}
    )
    assert_error(conflict, 409, "idempotency_key_conflict")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"events": ["job.exploded"]}, 400, "invalid_request"),
        ({"events": []}, 400, "invalid_request"),
        ({"name": ""}, 400, "invalid_request"),
        ({"url": "https://x.example/" + "a" * 1024}, 400, "invalid_request"),
        ({"projectId": "proj_unknown"}, 404, "not_found"),
    ],
)
async def test_bad_input(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, object], status: int, code: str
) -> None:
    tenant = await factory.tenant()
    response = await client.post(
        "/v1/webhook-endpoints", headers=tenant.headers, json={**BODY, **body}
    )
    assert_error(response, status, code)
    listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/scripe",  # not https
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://2130706433/hook",  # 127.0.0.1 as a decimal
        "https://0177.0.0.1/hook",  # 127.0.0.1 in octal
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "ftp://hooks.example.com/x",
    ],
)
async def test_private_and_non_https_urls_are_refused_in_production(
    settings: Settings, factory: Factory, url: str
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private_urls": False})
    app = create_app(strict)
    tenant = await factory.tenant()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/v1/webhook-endpoints", headers=tenant.headers, json={**BODY, "url": url}
            )
            assert_error(response, 422, "ssrf_blocked")
            endpoint = await create(client, tenant)
            patched = await client.patch(
                f"/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.headers, json={"url": url}
            )
            assert_error(patched, 422, "ssrf_blocked")


async def test_scope_and_isolation(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.tenant()
    other = await factory.tenant()
    endpoint = await create(client, owner)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    for method, suffix in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
        ("POST", "/replay"),
    ):
        body = {"since": "2026-12-01T00:00:00Z"} if suffix == "/replay" else {}
        response = await client.request(
            method,
            path + suffix,
            headers=other.headers,
            json=body if method in ("PATCH", "POST") else None,
        )
        assert_error(response, 404, "not_found")
    assert (await client.get("/v1/webhook-endpoints", headers=other.headers)).json()["data"] == []

    workspace = await factory.workspace()
    created = await factory.key(workspace.id, ("posts:read", "jobs:read"))
    narrow = {"Authorization": f"Bearer {created.secret}"}
    assert_error(await client.get("/v1/webhook-endpoints", headers=narrow), 403, "scope_missing")
    assert_error(
        await client.post("/v1/webhook-endpoints", headers=narrow, json=BODY), 403, "scope_missing"
    )


def test_the_event_names_are_one_list() -> None:
    """The closed list is written twice (a Literal for the schemas, a tuple for the database
    layer): they must agree."""
    assert get_args(EventName) == WEBHOOK_EVENTS
