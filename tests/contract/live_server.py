"""The API on a real loopback port, for clients that speak HTTP from outside the test's loop.

The server (and, when asked, a worker beside it) runs in a thread with its own event loop, so a
blocking client — schemathesis's `requests`, a subprocess waited on synchronously — never
starves it, and a test may still run its own async code (a `running_worker`) in the session loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import uvicorn

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.workers_support import scripted_providers
from workers.main import create_worker

STARTUP_TIMEOUT_SECONDS = 30.0


class _LiveServer:
    def __init__(self, settings: Settings, sock: socket.socket, *, with_worker: bool) -> None:
        self.settings = settings
        self.sock = sock
        self.with_worker = with_worker
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                lifespan="on",
                ws="none",
                http="h11",
                log_level="warning",
                access_log=False,
            )
        )
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_worker: asyncio.Event | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test thread, which re-raises it
            self.failure = error
        finally:
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_worker = asyncio.Event()
        worker_task: asyncio.Task[None] | None = None
        if self.with_worker:
            worker = create_worker(
                self.settings,
                providers=scripted_providers(self.settings),
                handle_signals=False,
            )
            worker_task = asyncio.create_task(
                worker.run_until(self.stop_worker, self.settings.worker_shutdown_grace_seconds)
            )
        serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        # uvicorn exposes only a `started` flag, no event to await.
        while not self.server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        self.ready.set()
        try:
            await serving
        finally:
            self.stop_worker.set()
            if worker_task is not None:
                await worker_task

    def stop(self) -> None:
        self.server.should_exit = True
        if self.loop is not None and self.stop_worker is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                self.loop.call_soon_threadsafe(self.stop_worker.set)


@contextlib.contextmanager
def live_api(settings: Settings, *, with_worker: bool = False) -> Iterator[str]:
    """Serve the app built from `settings` on 127.0.0.1 and yield its base URL.

    With `with_worker`, an arq worker (scripted provider for live keys, offline generator for
    test keys) runs in the same thread until the server stops.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live = _LiveServer(settings, sock, with_worker=with_worker)
    thread = threading.Thread(target=live.run, name="live-api", daemon=True)
    thread.start()
    try:
        assert live.ready.wait(STARTUP_TIMEOUT_SECONDS), "the live API did not start"
        if live.failure is not None or not live.server.started:
            raise RuntimeError("the live API failed to start") from live.failure
        yield url
    finally:
        live.stop()
        thread.join(STARTUP_TIMEOUT_SECONDS)
        sock.close()
    assert not thread.is_alive(), "the live API did not stop"
    if live.failure is not None:
        raise RuntimeError("the live API crashed") from live.failure
