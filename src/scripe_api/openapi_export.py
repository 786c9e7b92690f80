"""The committed contract: `openapi/openapi.json` is exactly `render_openapi(...)` of the app."""

from __future__ import annotations

import json
from pathlib import Path

from scripe_api.main import create_app
from scripe_api.settings import Settings

OPENAPI_PATH = Path("openapi") / "openapi.json"
# Rendering needs a Settings object; nothing secret or environment-specific reaches the spec.
_RENDER_SETTINGS = {"env": "dev", "secret_keys": {1: "openapi-render-only-" + "x" * 32}}


def render_openapi() -> str:
    app = create_app(Settings.model_validate(_RENDER_SETTINGS))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
