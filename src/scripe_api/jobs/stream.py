"""`GET /v1/jobs/{jobId}/events` (EVENTS.md §1): a job's events as Server-Sent Events.

A fresh connection gets the job's `status` first (as `GET /v1/jobs/{jobId}` shows it, with the
id of the last event it reflects), then every event as it is logged (`jobs.events`), and ends
after `done`. A reconnection (`Last-Event-ID: n` or `?starting_after=n`) gets every event after
`n` from the log, then the live ones. When the log no longer holds what the client missed (it
expired an hour after the job's last event, or Redis lost it), the job's `status` — and `done`
when it has ended — are rebuilt from Postgres. With Redis down the stream still opens: `status`
(and `done`) from Postgres, then it ends and the client reconnects (`retry:`), as it does when
the server shuts down (a last `status` first).

Nothing here polls: the stream waits on the process's one subscription to the log's channel,
reads the log when woken, and writes a comment every `events_keepalive_seconds` while idle.
Open streams count against a per-workspace cap, kept in Redis (a stream that dies without
closing stops counting once its slot goes stale).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from scripe_api.auth.principal import Principal
from scripe_api.core.errors import InvalidRequest, NotFound, RateLimited
from scripe_api.core.ids import new_request_id
from scripe_api.core.redis_scripts import run_script, script_sha
from scripe_api.db.base import can_exist
from scripe_api.db.pool import Database
from scripe_api.jobs import events, repository
from scripe_api.jobs.notifications import CompletionHub
from scripe_api.jobs.progress import read_progress
from scripe_api.jobs.views import with_progress

logger = logging.getLogger(__name__)

TERMINAL = frozenset({"DONE", "FAILED", "CANCELLED"})
# What EventSource waits before reconnecting after the stream ends.
RETRY_MS = 2000

# A workspace's open streams: a sorted set of stream ids scored by their last sign of life.
# ARGV: now (ms), stale after (ms), cap, stream id. 1: opened; 0: the cap is reached.
_OPEN_SLOT = """
local key = 'scripe:streams:' .. ARGV[5]
redis.call('ZREMRANGEBYSCORE', key, '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', key, ARGV[4]) == false
   and redis.call('ZCARD', key) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', key, ARGV[1], ARGV[4])
redis.call('PEXPIRE', key, ARGV[2])
return 1
"""
_OPEN_SLOT_SHA = script_sha(_OPEN_SLOT)


def _slots_key(workspace_id: str) -> str:
    return f"scripe:streams:{workspace_id}"


@dataclass(frozen=True)
class StreamSettings:
    cap_per_workspace: int
    keepalive_seconds: float
    max_seconds: float
    # The process's streams read the log this many at a time: one event wakes every stream
    # of its job at once, and a Redis pool has a bounded number of connections.
    reads: asyncio.Semaphore


def resume_point(last_event_id: str | None, starting_after: int | None) -> int | None:
    """Where a reconnecting client left off (the query wins over the header); None: fresh."""
    if starting_after is not None:
        return starting_after
    if last_event_id is None or not last_event_id.strip():
        return None
    value = last_event_id.strip()
    if not value.isdigit() or len(value) > 18:
        raise InvalidRequest(
            "Last-Event-ID must be the id of an event this stream sent (an integer).",
            details={"field": "Last-Event-ID"},
        )
    return int(value)


class JobStream:
    """One client's stream of one job."""

    def __init__(
        self,
        database: Database,
        redis: Redis,
        hub: CompletionHub,
        settings: StreamSettings,
        principal: Principal,
        job_id: str,
        after: int | None,
    ) -> None:
        self._database = database
        self._redis = redis
        self._hub = hub
        self._settings = settings
        self._principal = principal
        self._job_id = job_id
        self._after = after
        self._slot = new_request_id()

    async def open(self) -> StreamingResponse:
        """404 for a job the key cannot see, 429 when the workspace's streams are at the cap;
        otherwise the response, streaming."""
        await self._current()  # not found: a 404 before anything is streamed
        if not await self._take_slot():
            raise RateLimited(
                f"At most {self._settings.cap_per_workspace} event streams may be open at once "
                "for this workspace.",
                headers={"Retry-After": str(max(1, round(self._settings.keepalive_seconds)))},
            )
        return _EventStreamResponse(self._frames(), self._release_slot)

    async def _frames(self) -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        async for frame in self._events():
            yield frame

    async def _events(self) -> AsyncIterator[bytes]:
        async with self._hub.watch(self._job_id) as wake:
            subscribed = await self._hub.wait_subscribed(timeout=1.0)
            try:
                last = await events.last_sequence(self._redis, self._job_id)
                redis_up = True
            except (RedisError, OSError):
                last, redis_up = self._after or 0, False
            if self._after is None or not redis_up or not subscribed:
                # Fresh (or nothing live to follow): the job as it is now.
                ended, frames = await self._rebuilt(last if self._after is None else self._after)
                for frame in frames:
                    yield frame
                if ended or not redis_up or not subscribed:
                    return
                self._after = last
            after = self._after
            loop = asyncio.get_running_loop()
            ends_at = loop.time() + self._settings.max_seconds
            while True:
                wake.clear()
                if self._hub.is_closed or loop.time() >= ends_at:
                    # Shutting down, or the stream's time is up: the job as it is now; the
                    # client reconnects (elsewhere) from there.
                    _, frames = await self._rebuilt(after, done=False)
                    for frame in frames:
                        yield frame
                    return
                try:
                    async with self._settings.reads:
                        logged, complete, end = await events.read_after(
                            self._redis, self._job_id, after
                        )
                except (RedisError, OSError):
                    _, frames = await self._rebuilt(after)
                    for frame in frames:
                        yield frame
                    return
                if not complete:
                    # The log lost what the client missed (or never gave the id it sent): the
                    # job's state from Postgres, numbered with the log's end, then live again
                    # from there.
                    ended, frames = await self._rebuilt(end)
                    for frame in frames:
                        yield frame
                    if ended:
                        return
                    after = end
                    continue
                for event in logged:
                    yield _frame(event.seq, event.name, event.data)
                    after = event.seq
                    if event.name == events.DONE:
                        return
                idle = min(self._settings.keepalive_seconds, max(ends_at - loop.time(), 0.0))
                try:
                    await asyncio.wait_for(wake.wait(), idle)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    await self._take_slot()

    async def _rebuilt(self, seq: int, *, done: bool = True) -> tuple[bool, list[bytes]]:
        """`status` (and `done` when the job has ended) from Postgres, numbered `seq`."""
        status, document = await self._current()
        frames = [_frame(seq, events.STATUS, document)]
        ended = status in TERMINAL
        if ended and done:
            frames.append(_frame(seq, events.DONE, document))
        return ended, frames

    async def _current(self) -> tuple[str, str]:
        """The job's status and document as GET shows it (live progress while RUNNING)."""
        workspace_id = self._principal.workspace_id
        if not can_exist(self._job_id):  # a NUL, a lone surrogate: no row has such an id
            raise NotFound(f"Job '{self._job_id}' was not found.")
        row = await self._database.fetchrow(
            repository.READ_JOB_DOCUMENT, self._job_id, workspace_id, tenant=workspace_id
        )
        if row is None:
            raise NotFound(f"Job '{self._job_id}' was not found.")
        status, document = cast(str, row[0]), cast(str, row[1])
        if status == "RUNNING":
            snapshot = await read_progress(self._redis, self._job_id)
            if snapshot is not None:
                document = orjson.dumps(with_progress(orjson.loads(document), snapshot)).decode()
        return status, document

    async def _take_slot(self) -> bool:
        now_ms = int(time.time() * 1000)
        stale_ms = int(self._settings.keepalive_seconds * 3000)
        try:
            taken = await run_script(
                self._redis,
                _OPEN_SLOT,
                _OPEN_SLOT_SHA,
                0,
                now_ms,
                stale_ms,
                self._settings.cap_per_workspace,
                self._slot,
                self._principal.workspace_id,
            )
        except (RedisError, OSError) as error:
            logger.warning("stream cap unavailable (%s); allowing", type(error).__name__)
            return True
        return bool(taken)

    async def _release_slot(self) -> None:
        # On failure the slot goes stale on its own.
        with contextlib.suppress(RedisError, OSError):
            await self._redis.zrem(_slots_key(self._principal.workspace_id), self._slot)


class _EventStreamResponse(StreamingResponse):
    """A stream that frees its slot as soon as it ends, however it ends (a client that goes
    away cancels the response; its generator would only be closed when collected)."""

    def __init__(
        self, frames: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]]
    ) -> None:
        super().__init__(
            frames,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._on_close()


def _frame(seq: int, name: str, data: Any) -> bytes:
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return f"id: {seq}\nevent: {name}\ndata: {text}\n\n".encode()
