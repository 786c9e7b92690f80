from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from scripe_api.core.logging import configure_logging
from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve


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
