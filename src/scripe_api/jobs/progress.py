"""Progress snapshots in Redis (one key per job, 1 h TTL). Never touches Postgres.

Progress is best effort: a Redis failure loses a snapshot, never a job.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scripe_api.core.clock import format_timestamp, utc_now

logger = logging.getLogger(__name__)


def progress_key(job_id: str) -> str:
    return f"scripe:job:{job_id}:progress"


async def write_progress(
    redis: Redis, job_id: str, progress: float, message: str, ttl_seconds: int
) -> None:
    snapshot = {
        "progress": round(min(max(progress, 0.0), 1.0), 3),
        "message": message,
        "updatedAt": format_timestamp(utc_now()),
    }
    try:
        await redis.set(progress_key(job_id), orjson.dumps(snapshot), ex=ttl_seconds)
    except RedisError as error:
        logger.warning("progress write failed for %s: %s", job_id, type(error).__name__)


async def read_progress(redis: Redis, job_id: str) -> dict[str, Any] | None:
    try:
        raw = await redis.get(progress_key(job_id))
    except RedisError:
        return None
    if raw is None:
        return None
    try:
        snapshot: dict[str, Any] = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return snapshot
