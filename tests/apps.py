"""Apps with their own settings: each test that needs a non-default configuration builds one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from scripe_api.main import ScripeApp


@asynccontextmanager
async def serve(app: ScripeApp) -> AsyncIterator[httpx.AsyncClient]:
    """Run `app`'s lifespan and yield a client talking to it in process.

    Routes a test adds (`app.add_api_route`) must be added before this is entered.
    """
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
