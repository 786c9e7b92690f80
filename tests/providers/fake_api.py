"""A loopback HTTP server that answers like an AI provider's API (real sockets, real HTTP).

A tiny ASGI app served by uvicorn on 127.0.0.1 with a free port. Each test sets `replies` (the
next answers, in order; the last one repeats) and reads `requests` (what the provider sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    # Hold the answer until the server shuts down: longer than any client timeout.
    hang: bool = False

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status=status, body=json.dumps(payload).encode(), headers=headers)


@dataclass(frozen=True)
class FormPart:
    headers: dict[str, str]
    content: bytes


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    # The JSON body ({} for an empty or a multipart one); `raw` is the body as sent.
    body: dict[str, Any]
    raw: bytes = b""

    def form(self) -> dict[str, FormPart]:
        """A multipart/form-data body's parts by field name (split by hand: byte-exact)."""
        content_type = self.headers["content-type"]
        assert content_type.startswith("multipart/form-data; boundary=")
        boundary = b"--" + content_type.split("boundary=", 1)[1].encode()
        assert self.raw.endswith(boundary + b"--\r\n")
        parts = {}
        for chunk in self.raw.split(boundary)[1:-1]:
            head, content = chunk.removeprefix(b"\r\n").split(b"\r\n\r\n", 1)
            headers = {}
            for line in head.decode().split("\r\n"):
                key, value = line.split(": ", 1)
                headers[key.lower()] = value
            name = headers["content-disposition"].split('name="', 1)[1].split('"', 1)[0]
            parts[name] = FormPart(headers, content.removesuffix(b"\r\n"))
        return parts


class FakeApi:
    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply()]
        self.requests: list[Recorded] = []
        self.url = ""
        self._release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        is_json = bool(raw) and not headers.get("content-type", "").startswith("multipart/")
        self.requests.append(
            Recorded(
                method=scope["method"],
                path=scope["path"],
                headers=headers,
                body=json.loads(raw) if is_json else {},
                raw=raw,
            )
        )
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if reply.hang:
            await self._release.wait()
        answer = [(b"content-type", b"application/json")]
        answer += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": answer})
        await send({"type": "http.response.body", "body": reply.body})


@contextlib.asynccontextmanager
async def fake_api() -> AsyncIterator[FakeApi]:
    app = FakeApi()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app, lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        # uvicorn exposes only a `started` flag, no event to await.
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        yield app
    finally:
        app._release.set()
        server.should_exit = True
        await task
        sock.close()


def openai_completion(
    content: str,
    *,
    prompt_tokens: int = 3000,
    completion_tokens: int = 1000,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A Chat Completions answer, shaped like OpenAI's."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def anthropic_message(
    text: str,
    *,
    input_tokens: int = 3000,
    output_tokens: int = 1000,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """A Messages API answer, shaped like Anthropic's."""
    return {
        "id": "msg_123",
        "type": "message",
        "role": "assistant",
        "model": "fake-model",
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def api_error(kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message, "code": code}}
