"""§1.4 one error envelope for every failure: unknown routes, wrong methods, crashes, outages."""

from __future__ import annotations

import re
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends

from scripe_api.api.access import Access
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.auth.principal import Principal
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error
from tests.conftest import make_settings
from tests.factories import Factory

# A closed port: connecting is refused at once.
CLOSED_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/scripe"
SECRET_TEXT = "password=hunter2 at db.internal:5432"


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/nothing", "/v1/projects/x/y"])
async def test_unknown_route_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 404, "not_found")


async def test_unknown_route_needs_no_key(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    assert_error(await client.get("/v1/nothing-here", headers=tenant.headers), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/projects"), ("DELETE", "/v1/projects/proj_x"), ("PUT", "/v1/health")],
)
async def test_wrong_method_on_known_path(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


async def test_allow_lists_every_method_of_the_path(settings: Settings) -> None:
    app = create_app(settings)

    async def replace_projects() -> dict[str, str]:
        return {}

    # A second route on the same path: Starlette alone would name only the first one's methods.
    app.add_api_route("/v1/projects", replace_projects, methods=["PUT"])
    async with serve(app) as client:
        response = await client.delete("/v1/projects")
    error = assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, PUT"
    assert "GET, PUT" in error["message"]


async def test_an_operation_of_the_pipeline_failing_unexpectedly_is_an_opaque_500(
    settings: Settings, factory: Factory
) -> None:
    """Authenticated operations skip Starlette's own error layers (api.routing's shortcut):
    their failures still come back in the envelope, with the request's headers."""
    tenant = await factory.tenant()
    app = create_app(settings)
    router = APIRouter(route_class=GuardedRoute)

    @router.get("/v1/test-explode-guarded")
    async def explode(principal: Annotated[Principal, Depends(Access())]) -> None:
        raise RuntimeError(SECRET_TEXT)

    app.include_router(router)
    async with serve(app) as client:
        response = await client.get("/v1/test-explode-guarded", headers=tenant.headers)
        missing = await client.get("/v1/jobs/job_missing", headers=tenant.headers)
    error = assert_error(response, 500, "internal_error")
    assert set(error) == {"code", "message", "request_id", "docs_url"}
    assert "hunter2" not in response.text
    assert response.headers["x-ratelimit-limit"].isdigit()
    assert_error(missing, 404, "not_found")


async def test_unexpected_exception_is_an_opaque_500(settings: Settings) -> None:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError(SECRET_TEXT)

    app.add_api_route("/v1/test-explode", explode, methods=["GET"])
    async with serve(app) as client:
        response = await client.get("/v1/test-explode")
    error = assert_error(response, 500, "internal_error")
    assert set(error) == {"code", "message", "request_id", "docs_url"}
    for leak in ("hunter2", "RuntimeError", "Traceback", "explode", "db.internal"):
        assert leak not in response.text


async def test_database_lost_is_503_with_retry_after(server_urls: tuple[str, str]) -> None:
    settings = make_settings(CLOSED_POSTGRES, server_urls[1], unavailable_retry_after_seconds=7)
    headers = {"Authorization": "Bearer scripe_sk_live_" + "a" * 40}
    async with serve(create_app(settings)) as client:
        response = await client.get("/v1/projects", headers=headers)
        me = await client.get("/v1/workspaces/me", headers=headers)
    for answer in (response, me):
        error = assert_error(answer, 503, "service_unavailable")
        assert answer.headers["retry-after"] == "7"
        assert "127.0.0.1" not in answer.text
        assert "Connection" not in error["message"]


async def test_allow_names_the_documented_methods_of_each_path(client: httpx.AsyncClient) -> None:
    """For every path of the OpenAPI document, a method it does not document is a 405 whose
    Allow header lists exactly the methods the document gives that path: DELETE
    /v1/posts/generations names POST, not the GET and PATCH of /v1/posts/{postId}. (GET there is
    get_post asking for a post called "generations": routed, so not a 405.)"""
    spec = (await client.get("/openapi.json")).json()
    refused = []
    for template, item in spec["paths"].items():
        documented = sorted(method.upper() for method in item)
        path = re.sub(r"\{[^}]+\}", "x1", template)
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - set(documented)):
            response = await client.request(method, path)
            if response.status_code != 405:
                assert response.status_code in (401, 404), (method, path)
                continue
            assert_error(response, 405, "method_not_allowed")
            assert sorted(response.headers["allow"].split(", ")) == documented, (method, path)
            refused.append((method, path))
    assert ("DELETE", "/v1/posts/generations") in refused
    assert len(refused) > 2 * len(spec["paths"])
