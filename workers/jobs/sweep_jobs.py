"""arq cron adapter: the sweep."""

from __future__ import annotations

from typing import Any

from scripe_api.health.service import sample_queue_depth
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.jobs.sweep import sweep


async def sweep_jobs(ctx: dict[str, Any]) -> None:
    deps: WorkerDeps = ctx["deps"]
    await sweep(deps)
    # A worker's own metrics port shows the queue depth as of its last sweep.
    await sample_queue_depth(deps.resources)
