"""`scripe-api webhooks`: an operator's view of webhook endpoints and their deliveries.

`endpoints` lists a workspace's endpoints (never their secrets), `deliveries` shows an
endpoint's delivery log (`--follow` prints each attempt as it is recorded), `redeliver` queues
one delivery for an attempt now (the same webhook-id).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated

import typer
from sqlalchemy import select, update
from sqlalchemy.sql.functions import now

from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.errors import CliError
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption
from scripe_api.cli.output import say, table, when
from scripe_api.db.models import WebhookDelivery, WebhookEndpoint
from scripe_api.settings import Settings

app = typer.Typer(help="Webhook endpoints and their delivery log.", no_args_is_help=True)

_FOLLOW_SECONDS = 1.0


@app.command("endpoints")
def list_endpoints(
    workspace: Annotated[str, typer.Option(help="Workspace id (org_…).", show_default=False)],
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """A workspace's endpoints: URL, events, state (never the secret)."""
    endpoints = asyncio.run(_endpoints(target_settings(data_dir), workspace))
    table(
        ["ENDPOINT", "NAME", "URL", "EVENTS", "ACTIVE", "DISABLED", "FAILING SINCE"],
        [
            [
                endpoint.id,
                endpoint.name,
                endpoint.url,
                ", ".join(endpoint.events),
                "yes" if endpoint.is_active else "no",
                endpoint.disabled_reason or "—",
                when(endpoint.failing_since) or "—",
            ]
            for endpoint in endpoints
        ],
        empty="No webhook endpoints.",
    )


@app.command("deliveries")
def show_deliveries(
    endpoint: Annotated[str, typer.Option(help="Endpoint id (whe_…).", show_default=False)],
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep printing attempts as they are recorded.")
    ] = False,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """An endpoint's deliveries: status, attempts, the receiver's last answer."""
    settings = target_settings(data_dir)
    rows = asyncio.run(_deliveries(settings, endpoint, limit))
    table(
        ["DELIVERY", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST ATTEMPT", "ANSWER", "NEXT"],
        [_row(delivery) for delivery in rows],
        empty="No deliveries yet.",
    )
    if follow:
        try:
            asyncio.run(_follow(settings, endpoint, rows))
        except KeyboardInterrupt:
            return


@app.command("redeliver")
def redeliver(
    delivery: Annotated[str, typer.Argument(help="Delivery id (whd_…).", show_default=False)],
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Queue a delivery (failed or succeeded) for an attempt now, with the same webhook-id."""
    event_id = asyncio.run(_redeliver(target_settings(data_dir), delivery))
    say(f"{delivery} queued: event {event_id} is sent again now.")


def _row(delivery: WebhookDelivery) -> list[str | None]:
    answer = delivery.last_error or (
        f"HTTP {delivery.last_response_status}" if delivery.last_response_status else "—"
    )
    return [
        delivery.id,
        delivery.event_id,
        delivery.event_type,
        delivery.status,
        str(delivery.attempts),
        when(delivery.last_attempt_at) or "—",
        answer,
        when(delivery.next_attempt_at) if delivery.status == "pending" else "—",
    ]


async def _endpoints(settings: Settings, workspace_id: str) -> Sequence[WebhookEndpoint]:
    async with admin_session(settings) as session:
        found = await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
        )
        return found.all()


async def _deliveries(
    settings: Settings, endpoint_id: str, limit: int
) -> Sequence[WebhookDelivery]:
    async with admin_session(settings) as session:
        if await session.get(WebhookEndpoint, endpoint_id) is None:
            raise CliError(f"Webhook endpoint {endpoint_id} was not found.")
        found = await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        return found.all()


async def _follow(settings: Settings, endpoint_id: str, seen: Sequence[WebhookDelivery]) -> None:
    """Print each delivery again whenever its attempts or status change."""
    states = {delivery.id: (delivery.attempts, delivery.status) for delivery in seen}
    while True:
        await asyncio.sleep(_FOLLOW_SECONDS)
        for delivery in reversed(await _deliveries(settings, endpoint_id, 100)):
            state = (delivery.attempts, delivery.status)
            if states.get(delivery.id) != state:
                states[delivery.id] = state
                say("  ".join(value or "—" for value in _row(delivery)))


async def _redeliver(settings: Settings, delivery_id: str) -> str:
    async with admin_session(settings) as session:
        event_id: str | None = await session.scalar(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(status="pending", next_attempt_at=now())
            .returning(WebhookDelivery.event_id)
        )
    if event_id is None:
        raise CliError(f"Delivery {delivery_id} was not found.")
    return event_id
