"""arq adapter: run one attempt of a job (queue job id `{jobId}:{attempt}`)."""

from __future__ import annotations

from typing import Any

from scripe_api.core.logging import bound_job
from scripe_api.jobs.execution import WorkerDeps, run_attempt


async def run_job(ctx: dict[str, Any], job_id: str, attempt: int) -> str:
    deps: WorkerDeps = ctx["deps"]
    with bound_job(job_id):
        return await run_attempt(deps, job_id, attempt)
