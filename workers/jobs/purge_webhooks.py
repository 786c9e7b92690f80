"""arq cron adapter: delete webhook events (and their deliveries) older than the retention."""

from __future__ import annotations

import logging
from typing import Any

from scripe_api.jobs.execution import WorkerDeps
from scripe_api.webhooks import repository

logger = logging.getLogger(__name__)


async def purge_webhooks(ctx: dict[str, Any]) -> int:
    deps: WorkerDeps = ctx["deps"]
    async with deps.resources.database.connection() as connection:
        purged = await repository.purge(connection, deps.resources.settings.webhook_retention_days)
    if purged:
        logger.info("purged %d webhook events past their retention", purged)
    return purged
