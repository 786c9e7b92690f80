"""A worker killed after taking an attempt off the queue and before claiming it: arq keeps that
queue entry "in progress" for its whole job timeout, so the attempt must go out again under a
fresh id — for every attempt, not only the first — and the job runs again within a lease and a
sweep (§4.2: "running again within 30 s")."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import posts_of
from tests.faults.processes import api_process, client_of, worker_process
from tests.faults.worker_process import DIE_ON_TAKE
from tests.scripted_provider import script
from tests.workers_support import wait_for_exit

# The README's promise with default settings; the suite's lease and sweep are far shorter.
RUNNING_AGAIN_WITHIN_SECONDS = 30.0


@pytest.mark.parametrize("fatal_attempts", [(1,), (2,), (2, 3)], ids=["1", "2", "2 and 3"])
async def test_a_worker_dying_between_take_and_claim_delays_no_attempt(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    fatal_attempts: tuple[int, ...],
) -> None:
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    # Attempts before the last fail transiently, so attempt n is reached through n - 1 retries.
    last = max(fatal_attempts)
    failures = ["provider_timeout"] * (last - 1)
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(api_process(fault_settings, tmp_path / "api.log"))
        client = await stack.enter_async_context(client_of(api, **tenant.headers))
        job = await submit(client, project.id, script(fail=failures))
        for attempt in fatal_attempts:
            # This worker runs the attempts before `attempt`, then dies taking `attempt`.
            doomed = await stack.enter_async_context(
                worker_process(
                    fault_settings,
                    tmp_path / f"doomed-{attempt}.log",
                    extra_env={DIE_ON_TAKE: str(attempt)},
                )
            )
            await wait_for_exit(doomed.process, within=RUNNING_AGAIN_WITHIN_SECONDS)
        await stack.enter_async_context(worker_process(fault_settings, tmp_path / "worker.log"))
        (done,) = await settle(client, [job["id"]], within=RUNNING_AGAIN_WITHIN_SECONDS)
    assert done["status"] == "DONE", done
    assert done["attemptCount"] == last
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert [post.job_id for post in posts] == [job["id"]]
    assert f"Attempt {last}." in posts[0].content
