"""A real HTTP webhook receiver on loopback, for tests: it records every request it gets and
answers as the test tells it (`respond`), so the dispatcher's retries, redirects, timeouts and
Retry-After are exercised over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, if the signature verifies with `secret` (the standardwebhooks
        package's verifier, not ours)."""
        payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return payload


# What to answer: (status, headers, body); may sleep to be slow.
Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Received], Awaitable[Answer]]


async def accept(_: Received) -> Answer:
    return 204, {}, b""


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    # When each request arrived (time.monotonic()).
    arrivals: list[float] = field(default_factory=list)
    respond: Responder = accept
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received = Received(
            headers={name.decode().lower(): value.decode() for name, value in scope["headers"]},
            body=body,
        )
        self.requests.append(received)
        self.arrivals.append(time.monotonic())
        self._changed.set()
        status, headers, answer = await self.respond(received)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def of_type(self, event_type: str) -> list[Received]:
        return [one for one in self.requests if one.event["type"] == event_type]

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], *, within: float = 15.0
    ) -> list[Received]:
        """The requests, once `predicate` holds for them (fails after `within` seconds)."""
        deadline = time.monotonic() + within
        while not predicate(self.requests):
            remaining = deadline - time.monotonic()
            assert remaining > 0, (
                f"receiver got {len(self.requests)} requests: not what we waited for"
            )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return self.requests


@contextlib.asynccontextmanager
async def receiving(
    receiver: Receiver | None = None, *, sock: socket.socket | None = None
) -> AsyncIterator[Receiver]:
    """`receiver` served on 127.0.0.1 (on `sock` if given: a port kept across restarts)."""
    receiver = receiver or Receiver()
    if sock is None:
        sock = free_socket()
    config = uvicorn.Config(receiver, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the receiver did not start"
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
