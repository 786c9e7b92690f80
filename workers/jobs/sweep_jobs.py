"""arq cron adapter: the sweep."""

from __future__ import annotations

from typing import Any

from scripe_api.jobs.execution import WorkerDeps
from scripe_api.jobs.sweep import sweep


async def sweep_jobs(ctx: dict[str, Any]) -> None:
    deps: WorkerDeps = ctx["deps"]
    await sweep(deps)
