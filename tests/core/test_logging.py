from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from scripe_api.core.logging import configure_logging
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import eventually
from tests.factories import Factory


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(settings.model_copy(update={"log_format": "json"}))
    stream = io.StringIO()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_error_log_line_is_json_with_the_request_id(
    settings: Settings, json_log: io.StringIO
) -> None:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/test-explode", explode, methods=["GET"])
    async with serve(app) as client:
        response = await client.get(
            "/v1/test-explode", headers={"Authorization": "Bearer scripe_sk_live_" + "b" * 40}
        )
    assert response.status_code == 500
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    errors = [line for line in lines if line["level"] == "error"]
    assert errors, lines
    assert errors[0]["request_id"] == response.headers["x-request-id"]
    assert "scripe_sk_live_" not in json_log.getvalue()


async def test_the_shared_completion_listener_never_logs_as_the_request_that_started_it(
    settings: Settings, factory: Factory, redis: Redis, json_log: io.StringIO
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with serve(create_app(settings)) as client:
        # A short sync wait starts the process's one subscription inside this request.
        response = await client.post(
            "/v1/posts/generations",
            headers=tenant.headers,
            json={
                "projectId": project.id,
                "source": {"text": "Listener context."},
                "wait_for_completion_ms": 50,
            },
        )
        assert response.status_code == 202
        await redis.client_kill_filter(_type="pubsub")

        def lost_lines(text: str) -> list[dict[str, object]]:
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            return [line for line in lines if "subscription lost" in str(line["message"])]

        async def log_text() -> str:
            return json_log.getvalue()

        text = await eventually(log_text, lambda text: bool(lost_lines(text)), within=5)
    for line in lost_lines(text):
        assert line.get("request_id") in (None, ""), line
        assert "workspace_id" not in line or line["workspace_id"] is None, line


async def test_the_http_client_never_logs_urls_or_headers_even_at_debug(
    settings: Settings, json_log: io.StringIO
) -> None:
    """httpcore's DEBUG lines carry headers (a provider's key, a webhook's signatures) and
    httpx's INFO lines the URLs we call: neither is written, whatever the level."""
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "debug"}))
    root = logging.getLogger()
    root.handlers[0].setStream(json_log)  # type: ignore[attr-defined]
    secret = "Bearer sk-provider-secret-0123456789"

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(
            "https://hooks.example.com/x?auth=t0k3n", headers={"Authorization": secret}
        )
    logging.getLogger("scripe_api.test").debug("debug lines of our own are kept")
    written = json_log.getvalue()
    assert "debug lines of our own are kept" in written
    assert "t0k3n" not in written
    assert "sk-provider-secret" not in written
