"""Running the API with uvicorn inside our own event loop, beside companion tasks.

`scripe-api dev` runs the worker as a companion in the same process; `serve` runs none. The
command owns SIGINT/SIGTERM (uvicorn's handlers would re-raise the signal after shutdown and
kill the process before `dev` has stopped Postgres and Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from scripe_api.api.protocol import BoundedHttpProtocol
from scripe_api.cli.errors import CliError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


def run_service(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived service (API, worker, dev stack) on uvloop where it is installed (what
    uvicorn picks itself when it owns the loop): the service is network-bound, and uvloop's
    transports cost a fraction of asyncio's per read and write."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows: uvloop does not exist there
        return asyncio.run(main)
    return uvloop.run(main)


@dataclass(frozen=True)
class Companion:
    """A long-running task beside the server (the job worker in `dev`).

    `run(stopping)` returns soon after `stopping` is set (the server is shutting down); if it
    is still running `grace_seconds` later it is cancelled.
    """

    name: str
    run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
    grace_seconds: float = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before anything slow starts, so a busy port fails at once and in one line."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, protocol)
    except OSError as error:
        raise CliError(f"cannot listen on {host}:{port}: {error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        reason = "the port is in use" if error.errno == errno.EADDRINUSE else str(error)
        raise CliError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def public_url(sock: socket.socket) -> str:
    """The URL a local client uses (a wildcard bind is reached through loopback)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104 (reading the bound address, not binding)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # serve_until_stopped handles the signals; see the module docstring.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


async def serve_until_stopped(
    app: ASGIApp,
    sock: socket.socket,
    *,
    companions: Sequence[Companion] = (),
    on_started: Callable[[], None] | None = None,
    on_stopping: Callable[[], None] | None = None,
    is_stop_requested: Callable[[], bool] = lambda: False,
) -> None:
    """Serve `app` on `sock` with its companions until SIGINT/SIGTERM or a companion ends.

    On a signal, at once: `on_stopping` runs (e.g. answer long-polling requests), uvicorn stops
    accepting and finishes in-flight requests, and companions are told to stop. A second
    signal forces both. `is_stop_requested` reports a signal that came before these handlers.
    """
    # log_config=None: uvicorn's lines go through the root logger that configure_logging set.
    config = uvicorn.Config(app, lifespan="on", log_config=None, http=BoundedHttpProtocol)
    server = _Server(config, on_started)
    run = _Supervision(server, companions, on_stopping)
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.handle_exit(signum, frame)
        loop.call_soon_threadsafe(run.on_signal)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        if is_stop_requested():
            run.begin_stop()
        run.start_companions()
        await server.serve(sockets=[sock])
    except SystemExit:
        # uvicorn exits this way when the app's startup fails; it has logged why.
        raise CliError("the API failed to start; see the log above") from None
    finally:
        run.begin_stop()
        await run.wait_for_companions()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    run.raise_for_early_end()


class _Supervision:
    """The server and its companions: one stopping means all stop."""

    def __init__(
        self,
        server: _Server,
        companions: Sequence[Companion],
        on_stopping: Callable[[], None] | None,
    ) -> None:
        self.server = server
        self.companions = companions
        self.on_stopping = on_stopping
        self.stopping = asyncio.Event()
        self.tasks: dict[asyncio.Task[None], Companion] = {}
        self.ended_early: list[asyncio.Task[None]] = []

    def start_companions(self) -> None:
        for companion in self.companions:
            task = asyncio.create_task(companion.run(self.stopping), name=companion.name)
            task.add_done_callback(self._on_companion_done)
            self.tasks[task] = companion

    def on_signal(self) -> None:
        if not self.stopping.is_set():
            self.begin_stop()
            return
        # A second signal: do not wait for the companions' grace period.
        for task in self.tasks:
            task.cancel()

    def begin_stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.server.should_exit = True
        if self.on_stopping is not None:
            self.on_stopping()

    def _on_companion_done(self, task: asyncio.Task[None]) -> None:
        if not self.stopping.is_set():
            # A dev stack whose worker died is broken: stop serving rather than hide it.
            self.ended_early.append(task)
            self.server.should_exit = True

    async def wait_for_companions(self) -> None:
        if not self.tasks:
            return
        grace = max(companion.grace_seconds for companion in self.tasks.values())
        _, late = await asyncio.wait(self.tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def raise_for_early_end(self) -> None:
        for task in self.ended_early:
            failure = None if task.cancelled() else task.exception()
            reason = f"{type(failure).__name__}: {failure}" if failure else "it returned"
            name = self.tasks[task].name
            raise CliError(f"{name} stopped unexpectedly ({reason})") from failure
