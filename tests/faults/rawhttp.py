"""HTTP/1.1 over a plain socket, written the way simple clients write it: the whole request
first (headers, then every body byte), then the response. A server that answers early and
closes makes such a client fail with a broken pipe before it reads the answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

CHUNK = 64 * 1024


@dataclass(frozen=True)
class RawResult:
    response: httpx.Response | None
    send_error: str | None


def _exchange(url: str, head: bytes, body: Iterable[bytes], chunked: bool) -> RawResult:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 30) as sock:
        try:
            sock.sendall(head)
            for piece in body:
                if chunked:
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    sock.sendall(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError as error:
            return RawResult(None, f"{type(error).__name__}: {error}")
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as error:
            if not received:
                return RawResult(None, f"reading: {type(error).__name__}: {error}")
    return RawResult(_parse(received), None)


def _parse(raw: bytes) -> httpx.Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


async def send_raw(
    url: str,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    *,
    chunked: bool = False,
) -> RawResult:
    """Send `body` whole (with Content-Length, or chunked without it), then read the answer."""
    # Connection: close, so the answer ends where the connection does.
    lines = [f"{method} {target} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    return await asyncio.to_thread(_exchange, url, head, pieces, chunked)


async def send_raw_target(
    url: str, method: str, target: bytes, headers: dict[str, str]
) -> RawResult:
    """A request line carrying bytes no client library would send (invalid UTF-8 in the path)."""
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        f"Host: {urlsplit(url).netloc}".encode(),
        b"Connection: close",
    ]
    lines += [f"{name}: {value}".encode() for name, value in headers.items()]
    lines.append(b"Content-Length: 0")
    return await asyncio.to_thread(_exchange, url, b"\r\n".join(lines) + b"\r\n\r\n", [], False)
