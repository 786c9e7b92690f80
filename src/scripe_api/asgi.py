"""The app as an import string for uvicorn: `scripe_api.asgi:create_app_from_env` (factory).

Used by `scripe-api serve --workers N`, where every process builds its own app; settings are
read from the SCRIPE_* environment when uvicorn calls the factory, never at import.
"""

from __future__ import annotations

from scripe_api.core.logging import configure_logging
from scripe_api.main import ScripeApp, create_app
from scripe_api.settings import Settings


def create_app_from_env() -> ScripeApp:
    settings = Settings()
    # Each worker process is a fresh interpreter: it sets up its own logging.
    configure_logging(settings)
    return create_app(settings)
