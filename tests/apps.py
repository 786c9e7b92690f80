"""Apps with their own settings: each test that needs a non-default configuration builds one."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from scripe_api.main import ScripeApp, create_app
from scripe_api.settings import Settings


@asynccontextmanager
async def serve(app: ScripeApp) -> AsyncIterator[httpx.AsyncClient]:
    """Run `app`'s lifespan and yield a client talking to it in process.

    Routes a test adds (`app.add_api_route`) must be added before this is entered.
    """
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def served(settings: Settings, app: ScripeApp | None = None) -> AsyncIterator[str]:
    """The API app (`app`, or one built from `settings`) on 127.0.0.1 with a free port,
    lifespan included, over real HTTP; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app or create_app(settings), lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        # uvicorn exposes only a `started` flag, no event to await.
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
