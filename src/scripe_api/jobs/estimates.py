"""estimatedCompletionMs: the median duration of recent DONE live-key jobs of a type, cached.

Recomputed at most every `estimate_refresh_seconds` per process, never per request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from scripe_api.db.pool import Database
from scripe_api.jobs import repository

logger = logging.getLogger(__name__)

DEFAULT_ESTIMATES_MS = {"POST_GENERATION": 25_000, "KB_INGEST_TEXT": 5_000}
SAMPLE_SIZE = 200


class EstimateCache:
    def __init__(self, database: Database, refresh_seconds: float) -> None:
        self._database = database
        self._refresh_seconds = refresh_seconds
        self._medians: dict[str, int] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def estimate_ms(self, job_type: str) -> int | None:
        if self._is_stale():
            async with self._lock:
                if self._is_stale():
                    await self._refresh()
        return self._medians.get(job_type, DEFAULT_ESTIMATES_MS.get(job_type))

    def _is_stale(self) -> bool:
        return (
            self._loaded_at is None or time.monotonic() - self._loaded_at >= self._refresh_seconds
        )

    async def _refresh(self) -> None:
        try:
            async with self._database.connection() as connection:
                self._medians = await repository.median_durations_ms(connection, SAMPLE_SIZE)
        except Exception:
            # Keep the previous medians (or the defaults); try again next interval.
            logger.warning("could not refresh job duration medians", exc_info=True)
        self._loaded_at = time.monotonic()
