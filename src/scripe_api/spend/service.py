"""The daily AI spend cap (API.md §6): reserve at submit (in the submit statement), record
every provider call, settle once with the job's terminal transition (in its statement)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.db.models import ProviderCall, SpendReservation
from scripe_api.db.pool import Database
from scripe_api.providers.base import Usage
from scripe_api.settings import Settings
from scripe_api.spend import repository
from scripe_api.workspaces.service import get_workspace


def cap_for(settings: Settings, plan: str) -> int | None:
    return settings.plan_spend_caps_cents.get(plan, 0)


async def start_call(
    database: Database, job_id: str, attempt: int, provider: str, model: str | None
) -> int:
    """Write the call as started, committed before the call is made."""
    async with database.connection() as connection:
        return await repository.start_call(connection, job_id, attempt, provider, model)


async def complete_call(
    database: Database, call_id: int, usage: Usage, output: dict[str, Any] | None = None
) -> None:
    """Record what the provider reported and what it generated, committed right after the call
    returns: from then on the job never pays for this output again."""
    async with database.connection() as connection:
        await repository.finish_call(
            connection,
            call_id,
            state="completed",
            cost_cents=usage.cost_cents,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            output=output,
        )


async def fail_call(database: Database, call_id: int, usage: Usage | None = None) -> None:
    """The provider answered with an error: it billed what it reported (a refusal is billed),
    or nothing when it reported nothing."""
    async with database.connection() as connection:
        await repository.finish_call(
            connection,
            call_id,
            state="failed",
            cost_cents=usage.cost_cents if usage else 0,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
        )


@dataclass(frozen=True)
class SpendReport:
    """The operators' view of a workspace's spend today."""

    workspace_id: str
    plan: str
    cap_cents: int | None
    today: repository.BucketState
    reservations: list[tuple[SpendReservation, str]]
    calls: list[ProviderCall]


async def spend_report(
    session: AsyncSession, settings: Settings, workspace_id: str, limit: int
) -> SpendReport:
    workspace = await get_workspace(session, workspace_id)
    reservations = await repository.recent_reservations(session, workspace_id, limit)
    calls = await repository.calls_of(session, [r.job_id for r, _ in reservations])
    return SpendReport(
        workspace_id=workspace.id,
        plan=workspace.plan,
        cap_cents=cap_for(settings, workspace.plan),
        today=await repository.today(session, workspace_id),
        reservations=reservations,
        calls=calls,
    )
