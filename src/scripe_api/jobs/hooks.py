"""Hooks on job lifecycle transitions, run inside the transaction of the transition.

The spend ledger registers here: a cancelled job's reservation is refunded, a finished job's
usage reconciled — in the same transaction as the compare-and-set that ended the job, so each
runs exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import Job

TerminalHook = Callable[[AsyncSession, Job], Awaitable[None]]


class JobHooks:
    def __init__(self) -> None:
        self._on_terminal: list[TerminalHook] = []

    def on_terminal(self, hook: TerminalHook) -> None:
        """Called once when a job reaches DONE, FAILED or CANCELLED."""
        self._on_terminal.append(hook)

    async def job_ended(self, session: AsyncSession, job: Job) -> None:
        for hook in self._on_terminal:
            await hook(session, job)
