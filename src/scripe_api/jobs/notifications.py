"""Completion notifications: whoever ends a job publishes its id (`jobs.lifecycle`); each API
process holds ONE Redis subscription and fans notifications out to the requests waiting on
those jobs. The same hub, on the event log's channel (`jobs.events`), wakes the event streams."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CHANNEL = "scripe:jobs:finished"
_RECONNECT_DELAY_SECONDS = 1.0


class CompletionHub:
    """Waiters register before their final status read, so no completion is missed."""

    def __init__(self, redis: Redis, channel: str = CHANNEL) -> None:
        # A client of its own, without a read timeout: the subscription idles between messages.
        self._redis = redis
        self._channel = channel
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_listening(self) -> bool:
        return self._subscribed.is_set() and not self._closed

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when `job_id` finishes, or at once when the hub closes."""
        event = asyncio.Event()
        if self._closed:
            event.set()
        self._waiters.setdefault(job_id, set()).add(event)
        self._ensure_listener()
        try:
            yield event
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[job_id]

    async def wait_subscribed(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether the subscription is live (a waiter without it could miss its notification)."""
        self._ensure_listener()
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Shutdown: wake every waiter so it answers at once with the current state."""
        self._closed = True
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
        if self._listener is not None:
            self._listener.cancel()

    async def aclose(self) -> None:
        self.close()
        if self._listener is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose(close_connection_pool=True)

    def _ensure_listener(self) -> None:
        if self._closed or (self._listener is not None and not self._listener.done()):
            return
        # A context of its own: started inside whichever request waits first, it must neither
        # log as that request (its id, its workspace) nor keep that request's scope alive.
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(), context=contextvars.Context()
        )

    async def _listen(self) -> None:
        while not self._closed:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                while not self._closed:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._wake(message["data"])
            except (RedisError, OSError) as error:
                logger.warning("completion subscription lost: %s", type(error).__name__)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if not self._closed:
                # Anything published while unsubscribed is missed: wake every waiter so each
                # re-reads its job from Postgres rather than sleeping to its deadline.
                self._wake_all()
                await asyncio.sleep(_RECONNECT_DELAY_SECONDS)

    def _wake(self, raw: bytes | str) -> None:
        job_id = raw.decode() if isinstance(raw, bytes) else raw
        for event in self._waiters.get(job_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
