"""Progress snapshots in Redis (one key per job, 1 h TTL), each also a `progress` event in the
job's log (`jobs.events`). Never touches Postgres.

Progress is best effort: a Redis failure loses a snapshot, never a job. An attempt's snapshots
are coalesced: at most one write per `interval` (the first `interval` after the attempt
started), the latest snapshot each time, and the last one is always written (at the latest with
the attempt's end, in the same round trip as its completion notice) — an attempt that reports
ten steps in a few milliseconds costs one write, pipelined with its end; a slow one shows a
step every tenth of a second.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.core.clock import format_timestamp, utc_now
from scripe_api.jobs import events

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.1


def progress_key(job_id: str) -> str:
    return f"scripe:job:{job_id}:progress"


def snapshot(progress: float, message: str) -> bytes:
    return orjson.dumps(
        {
            "progress": round(min(max(progress, 0.0), 1.0), 3),
            "message": message,
            "updatedAt": format_timestamp(utc_now()),
        }
    )


async def read_progress(redis: Redis, job_id: str) -> bytes | None:
    try:
        raw: bytes | None = await redis.get(progress_key(job_id))
    except RedisError:
        return None
    return raw


class ProgressWriter:
    """One attempt's progress, coalesced (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        job_id: str,
        ttl_seconds: int,
        interval: float = COALESCE_SECONDS,
        started: str | None = None,
    ) -> None:
        self._redis = redis
        self.job_id = job_id
        self.key = progress_key(job_id)
        # The attempt's `status` event (the job as it started running), logged with the first
        # write: with the attempt's end at the latest.
        self._unlogged_status = started
        self.ttl_seconds = ttl_seconds
        self._interval = interval
        # The attempt's start counts as a write: a fast attempt writes only with its end.
        self._written_at = asyncio.get_running_loop().time()
        self._pending: bytes | None = None
        self._flusher: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def report(self, progress: float, message: str) -> None:
        value = snapshot(progress, message)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - self._written_at >= self._interval:
            self._pending = None
            self._written_at = now
            await self._write(value)
            return
        self._pending = value
        if self._flusher is None:
            self._flusher = loop.call_at(self._written_at + self._interval, self._flush_later)

    def take_events(self, pending: bytes | None) -> list[events.Event]:
        """The events not yet logged, `pending` (a snapshot taken with `take_pending`) last:
        the caller logs them with the attempt's end."""
        log = []
        if self._unlogged_status is not None:
            log.append(events.Event(self.job_id, events.STATUS, self._unlogged_status))
            self._unlogged_status = None
        if pending is not None:
            log.append(events.Event(self.job_id, events.PROGRESS, pending.decode()))
        return log

    def take_pending(self) -> bytes | None:
        """The snapshot not yet written (the caller writes it with the attempt's end)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        pending, self._pending = self._pending, None
        return pending

    async def flush(self) -> None:
        pending = self.take_pending()
        if pending is not None:
            await self._write(pending)

    def _flush_later(self) -> None:
        self._flusher = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._written_at = asyncio.get_running_loop().time()
            task = asyncio.ensure_future(self._write(pending))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _write(self, value: bytes) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self.key, value, ex=self.ttl_seconds)
                events.append(pipe, self.take_events(value))
                await pipe.execute()
        except RedisError as error:
            logger.warning("progress write failed for %s: %s", self.key, type(error).__name__)
