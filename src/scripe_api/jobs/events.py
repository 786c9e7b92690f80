"""A job's event log (EVENTS.md §1): what `GET /v1/jobs/{jobId}/events` replays and relays.

Each job's events live in a Redis stream, `scripe:job:{id}:events`, with ids `<seq>-0` where
`seq` (1, 2, 3…) is the job's own sequence number, the SSE `id:`. Every append refreshes a TTL
(`TTL_SECONDS`, an hour), so the log lasts while the job runs and an hour after its last
event; the stream is capped (about `MAX_EVENTS` entries). Each append is published on `CHANNEL`
with the job's id, so the API processes relay it at once (one subscription per process,
`notifications.CompletionHub`).

Events: `status` (data: the Job as GET returns it) when a job starts running and when it ends,
`progress` (`{"progress", "message", "updatedAt"}`) as snapshots are written, and `done` (the
terminal Job) last. They are written with the writes the job path makes anyway — the attempt's
progress writes, its end's announcement — never in a round trip of their own. Best effort like
progress: a Redis failure loses events, never a job; a client that reconnects after the log is
gone gets the job's state rebuilt from Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

CHANNEL = "scripe:jobs:events"
MAX_EVENTS = 1000
# A job's log lasts this long after its last event.
TTL_SECONDS = 3600

STATUS = "status"
PROGRESS = "progress"
DONE = "done"


def events_key(job_id: str) -> str:
    return f"scripe:job:{job_id}:events"


def sequence_key(job_id: str) -> str:
    return f"scripe:job:{job_id}:seq"


@dataclass(frozen=True, slots=True)
class Event:
    job_id: str
    name: str
    # JSON text.
    data: str


# ARGV: ttl, max entries, then (job id, event, data) triples. Keys are built here from the ids
# (they are only ever one job's: a Redis Cluster deployment would shard them with `{id}` tags).
_APPEND = f"""
local ttl = tonumber(ARGV[1])
for i = 3, #ARGV, 3 do
    local job = ARGV[i]
    local seq_key = 'scripe:job:' .. job .. ':seq'
    local log_key = 'scripe:job:' .. job .. ':events'
    local seq = redis.call('INCR', seq_key)
    redis.call('XADD', log_key, 'MAXLEN', '~', ARGV[2], seq .. '-0',
               'event', ARGV[i + 1], 'data', ARGV[i + 2])
    redis.call('EXPIRE', seq_key, ttl)
    redis.call('EXPIRE', log_key, ttl)
    redis.call('PUBLISH', '{CHANNEL}', job)
end
return 1
"""


def append(pipe: Any, events: Sequence[Event], ttl_seconds: int = TTL_SECONDS) -> None:
    """Queue the appends of `events` on a Redis pipeline (the caller executes it)."""
    if not events:
        return
    arguments: list[str | int] = [ttl_seconds, MAX_EVENTS]
    for event in events:
        arguments += [event.job_id, event.name, event.data]
    pipe.eval(_APPEND, 0, *arguments)


@dataclass(frozen=True, slots=True)
class Logged:
    """An event as the log holds it."""

    seq: int
    name: str
    data: str


async def read_after(redis: Redis, job_id: str, after: int) -> tuple[list[Logged], bool, int]:
    """The job's events after `after`; whether the log holds every event after `after` (False:
    the log is gone, trimmed past `after`, or behind it — an id this log never gave); and the
    log's last id (0: no log)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xrange(events_key(job_id), f"{after + 1}-0", "+")
        pipe.get(sequence_key(job_id))
        entries, last = await pipe.execute()
    logged = [
        Logged(int(entry_id.split(b"-", 1)[0]), fields[b"event"].decode(), fields[b"data"].decode())
        for entry_id, fields in entries
    ]
    end = int(last) if last is not None else 0
    if end <= after:
        # Nothing new: fine when the client is at the log's end, not when it claims more.
        return logged, end == after, end
    return logged, bool(logged) and logged[0].seq == after + 1, end


async def last_sequence(redis: Redis, job_id: str) -> int:
    raw = await redis.get(sequence_key(job_id))
    return int(raw) if raw is not None else 0
