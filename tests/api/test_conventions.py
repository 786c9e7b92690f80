"""§1.2 versioning, §1.3 request ids, §1.8 body caps and the §1.5 order of checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request

from scripe_api.main import create_app
from scripe_api.settings import CURRENT_API_VERSION, Settings
from tests.apps import serve
from tests.assertions import assert_context_headers, assert_error
from tests.conftest import make_settings
from tests.factories import Factory

CAP = 256 * 1024
OLD_VERSION = "2026-01-15"


async def chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    """A body sent with `Transfer-Encoding: chunked` (httpx sends no Content-Length for it)."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


# Request ids and the version header


async def test_every_response_gets_a_fresh_request_id(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    first = await client.get("/v1/workspaces/me", headers=tenant.headers)
    second = await client.get("/v1/workspaces/me", headers=tenant.headers)
    assert first.status_code == second.status_code == 200
    assert_context_headers(first)
    assert_context_headers(second)
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_omitted_version_resolves_to_the_current_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/health")
    assert response.headers["scripe-api-version"] == CURRENT_API_VERSION
    assert response.json()["version"] == CURRENT_API_VERSION


async def test_current_version_is_echoed(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    response = await client.get(
        "/v1/workspaces/me",
        headers={**tenant.headers, "Scripe-Api-Version": CURRENT_API_VERSION},
    )
    assert response.status_code == 200
    assert_context_headers(response)
    assert "scripe-deprecation" not in response.headers


@pytest.mark.smoke
@pytest.mark.parametrize("version", ["2025-01-01", "2026-8-1", "latest", ""])
async def test_unknown_or_malformed_version_is_refused(
    client: httpx.AsyncClient, factory: Factory, version: str
) -> None:
    tenant = await factory.tenant()
    response = await client.get(
        "/v1/workspaces/me", headers={**tenant.headers, "Scripe-Api-Version": version}
    )
    error = assert_error(response, 400, "version_unsupported")
    assert error["details"] == {"accepted": [CURRENT_API_VERSION]}


async def test_deprecated_version_is_served_with_a_deprecation_header(
    server_urls: tuple[str, str], factory: Factory
) -> None:
    settings = make_settings(
        *server_urls,
        accepted_versions=[CURRENT_API_VERSION, OLD_VERSION],
        deprecated_versions={OLD_VERSION: "2027-01-31"},
    )
    tenant = await factory.tenant()
    async with serve(create_app(settings)) as client:
        old = await client.get(
            "/v1/workspaces/me", headers={**tenant.headers, "Scripe-Api-Version": OLD_VERSION}
        )
        current = await client.get("/v1/workspaces/me", headers=tenant.headers)
        refused = await client.get("/v1/health", headers={"Scripe-Api-Version": "2020-01-01"})
    assert old.status_code == 200
    assert_context_headers(old, OLD_VERSION)
    assert old.headers["scripe-deprecation"] == (
        f"{OLD_VERSION}; sunset=2027-01-31; replacement={CURRENT_API_VERSION}"
    )
    assert current.status_code == 200
    assert_context_headers(current)
    assert "scripe-deprecation" not in current.headers
    error = assert_error(refused, 400, "version_unsupported")
    assert error["details"] == {"accepted": [CURRENT_API_VERSION, OLD_VERSION]}


async def test_version_accepted_but_not_deprecated_has_no_deprecation_header(
    server_urls: tuple[str, str],
) -> None:
    settings = make_settings(*server_urls, accepted_versions=[CURRENT_API_VERSION, OLD_VERSION])
    async with serve(create_app(settings)) as client:
        response = await client.get("/v1/health", headers={"Scripe-Api-Version": OLD_VERSION})
    assert_context_headers(response, OLD_VERSION)
    assert response.json()["version"] == OLD_VERSION
    assert "scripe-deprecation" not in response.headers


# Body caps (checked before routing and before authentication)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/projects"), ("POST", "/v1/no-such-route"), ("POST", "/v1/workspaces/me")],
)
async def test_declared_body_over_the_cap_is_refused_before_auth_and_routing(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # Without the cap these would be 401, 404 and 405.
    response = await client.request(method, path, content=b"x" * (CAP + 1))
    error = assert_error(response, 413, "payload_too_large")
    assert "256 KB" in error["message"]


async def test_body_at_the_cap_is_not_refused(client: httpx.AsyncClient) -> None:
    response = await client.request("GET", "/v1/projects", content=b"x" * CAP)
    # Past the body cap the request reaches authentication.
    assert_error(response, 401, "unauthenticated")


async def test_chunked_body_over_the_cap_is_refused_before_auth(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("GET", "/v1/projects", content=chunks(CAP + 1))
    assert_error(response, 413, "payload_too_large")


async def test_chunked_body_over_the_cap_is_refused_before_routing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/no-such-route", content=chunks(3 * CAP))
    assert_error(response, 413, "payload_too_large")


async def test_chunked_body_under_the_cap_reaches_the_handler_intact(
    settings: Settings,
) -> None:
    app = create_app(settings)

    async def measure_body(request: Request) -> dict[str, int]:
        body = await request.body()
        return {"size": len(body), "x": body.count(b"x")}

    app.add_api_route("/v1/test-body", measure_body, methods=["POST"])
    async with serve(app) as client:
        response = await client.post("/v1/test-body", content=chunks(CAP, size=1000))
    assert response.status_code == 200, response.text
    assert response.json() == {"size": CAP, "x": CAP}


async def test_larger_cap_applies_to_its_own_path_only(client: httpx.AsyncClient) -> None:
    # /v1/knowledge takes 1.1 MB; the same body elsewhere is over the default cap.
    body = b"x" * (CAP + 1)
    knowledge = await client.post("/v1/knowledge", content=body)
    elsewhere = await client.post("/v1/workspaces/me", content=body)
    assert knowledge.status_code != 413
    assert_error(elsewhere, 413, "payload_too_large")


# Order of checks: version → 413 → 401 → 403 plan → 403 scope


async def test_version_is_checked_before_body_size(client: httpx.AsyncClient) -> None:
    response = await client.request(
        "GET",
        "/v1/projects",
        content=b"x" * (CAP + 1),
        headers={"Scripe-Api-Version": "nope"},
    )
    assert_error(response, 400, "version_unsupported")


async def test_body_size_is_checked_before_authentication(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    free = await factory.tenant(plan="FREE", scopes=())
    body = b"x" * (CAP + 1)
    no_key = await client.request("GET", "/v1/projects", content=body)
    bad_key = await client.request(
        "GET",
        "/v1/projects",
        content=body,
        headers={"Authorization": "Bearer scripe_sk_live_" + "0" * 40},
    )
    ineligible = await client.request("GET", "/v1/projects", content=body, headers=free.headers)
    assert_error(no_key, 413, "payload_too_large")
    assert_error(bad_key, 413, "payload_too_large")
    assert_error(ineligible, 413, "payload_too_large")


async def test_authentication_is_checked_before_plan(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    free = await factory.tenant(plan="FREE")
    await factory.tenant()
    response = await client.get("/v1/projects", headers={"Authorization": free.key})
    assert_error(response, 401, "unauthenticated")


async def test_plan_is_checked_before_scope(client: httpx.AsyncClient, factory: Factory) -> None:
    free = await factory.tenant(plan="FREE", scopes=("posts:read",))
    response = await client.get("/v1/projects", headers=free.headers)
    assert_error(response, 403, "plan_not_eligible")


async def test_scope_is_checked_before_query_validation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant(scopes=("posts:read",))
    response = await client.get("/v1/projects?limit=abc", headers=tenant.headers)
    assert_error(response, 403, "scope_missing")


async def test_authentication_is_checked_before_query_validation(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/projects?limit=0&cursor=garbage")
    assert_error(response, 401, "unauthenticated")


async def test_json_content_type(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    response = await client.get("/v1/workspaces/me", headers=tenant.headers)
    assert response.headers["content-type"] == "application/json"
