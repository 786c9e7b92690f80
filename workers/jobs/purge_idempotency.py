"""arq cron adapter: delete Idempotency-Key records older than the window."""

from __future__ import annotations

import logging
from typing import Any

from scripe_api.idempotency import service
from scripe_api.idempotency.service import Policy
from scripe_api.jobs.execution import WorkerDeps

logger = logging.getLogger(__name__)


async def purge_idempotency(ctx: dict[str, Any]) -> int:
    deps: WorkerDeps = ctx["deps"]
    policy = Policy.from_settings(deps.resources.settings)
    purged = await service.purge_expired(deps.resources.database, policy)
    if purged:
        logger.info("purged %d expired idempotency records", purged)
    return purged
