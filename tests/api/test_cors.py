"""CORS (off by default; an allow-list of origins is configuration): browsers get the headers
on every operation, the request pipeline's included."""

from __future__ import annotations

import httpx

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.factories import Factory

ORIGIN = "https://app.example.com"


async def test_allowed_origin_gets_cors_headers_on_pipeline_operations(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    app = create_app(settings.model_copy(update={"cors_origins": [ORIGIN]}))
    async with serve(app) as client:
        preflight = await client.options(
            "/v1/jobs/job_x",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,scripe-api-version",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        read = await client.get("/v1/jobs", headers={**tenant.headers, "Origin": ORIGIN})
        assert read.status_code == 200, read.text
        assert read.headers["access-control-allow-origin"] == ORIGIN
        assert "X-Request-Id" in read.headers["access-control-expose-headers"]
        missing = await client.get("/v1/jobs/job_x", headers={**tenant.headers, "Origin": ORIGIN})
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == ORIGIN
        other = await client.get("/v1/jobs", headers={**tenant.headers, "Origin": "https://x.io"})
        assert "access-control-allow-origin" not in other.headers
        # A browser may PUT an upload's bytes to the signed URL, DELETE a webhook endpoint,
        # resume an event stream and ask for a wait or a deadline.
        for method, path, headers in (
            ("PUT", "/v1/uploads/upl_x/content", "content-type"),
            ("DELETE", "/v1/webhook-endpoints/whe_x", "authorization"),
            ("GET", "/v1/jobs/job_x/events", "last-event-id"),
            ("POST", "/v1/posts/generations", "authorization,prefer,cancel-after"),
        ):
            allowed = await client.options(
                path,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": headers,
                },
            )
            assert allowed.status_code == 200, (method, path, allowed.text)


async def test_without_an_allow_list_no_cors_headers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    read = await client.get("/v1/jobs", headers={**tenant.headers, "Origin": ORIGIN})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers
