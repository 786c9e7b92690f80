"""`scripe-api spend show`: today's bucket of a workspace and its latest jobs' ledger rows."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Annotated

import typer

from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption
from scripe_api.cli.output import say, table, when
from scripe_api.settings import Settings
from scripe_api.spend.service import SpendReport, spend_report

app = typer.Typer(help="The daily AI spend cap and its ledger.", no_args_is_help=True)


@app.command("show")
def show_spend(
    workspace: Annotated[str, typer.Option(help="Workspace id (org_…).", show_default=False)],
    jobs: Annotated[int, typer.Option(min=1, max=500, help="How many recent jobs.")] = 10,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Today's bucket (cap, reserved vs actual) and the latest jobs with their ledger rows."""
    settings = target_settings(data_dir)
    report = asyncio.run(_report(settings, workspace, jobs))
    cap = "unlimited" if report.cap_cents is None else f"{report.cap_cents}¢"
    today = report.today
    say(
        f"{report.workspace_id} (plan {report.plan}) on {today.bucket_date} UTC: "
        f"spent {today.spent_cents}¢ of {cap} = {today.actual_cents}¢ actual "
        f"+ {today.reserved_cents}¢ reserved."
    )
    calls_by_job: dict[str, list[str]] = defaultdict(list)
    for call in report.calls:
        cost = "?" if call.cost_cents is None else f"{call.cost_cents}¢"
        calls_by_job[call.job_id].append(f"#{call.attempt} {call.provider} {call.state} {cost}")
    rows = [
        [
            reservation.job_id,
            status,
            str(reservation.bucket_date),
            f"{reservation.estimate_cents}¢",
            "—" if reservation.actual_cents is None else f"{reservation.actual_cents}¢",
            when(reservation.reconciled_at),
            "; ".join(calls_by_job.get(reservation.job_id, [])) or "—",
        ]
        for reservation, status in report.reservations
    ]
    table(
        ["JOB", "STATUS", "BUCKET", "RESERVED", "ACTUAL", "RECONCILED", "PROVIDER CALLS"],
        rows,
        empty="No jobs have reserved spend yet.",
    )


async def _report(settings: Settings, workspace_id: str, limit: int) -> SpendReport:
    async with admin_session(settings) as session:
        return await spend_report(session, settings, workspace_id, limit)
