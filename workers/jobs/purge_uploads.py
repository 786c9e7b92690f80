"""arq cron adapter: delete uploaded bytes nobody will read — never referenced within the
retention (24 h), or consumed (the ingest deletes those itself; this catches what it could
not)."""

from __future__ import annotations

import logging
from typing import Any

from scripe_api.jobs.execution import WorkerDeps
from scripe_api.uploads import repository

logger = logging.getLogger(__name__)


async def purge_uploads(ctx: dict[str, Any]) -> int:
    deps: WorkerDeps = ctx["deps"]
    settings = deps.resources.settings
    async with deps.resources.database.connection() as connection:
        rows = await repository.purgeable(connection, settings.upload_retention_hours * 3600)
    purged: list[str] = []
    for row in rows:
        try:
            await deps.storage.delete(row["storage_key"])
        except Exception as error:  # the next run tries again
            logger.warning("upload %s: bytes not deleted (%s)", row["id"], type(error).__name__)
            continue
        purged.append(row["id"])
    if purged:
        async with deps.resources.database.connection() as connection:
            await repository.mark_purged(connection, purged)
        logger.info("deleted the bytes of %d uploads", len(purged))
    return len(purged)
