"""Webhook endpoints and their delivery log (WEBHOOKS.md §1, §3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from scripe_api.auth.principal import Principal
from scripe_api.core import netguard
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import AppError, InvalidRequest, NotFound
from scripe_api.core.ids import new_id
from scripe_api.core.pagination import CursorCodec, Page
from scripe_api.db.models.webhook import WEBHOOK_EVENTS
from scripe_api.db.pool import Connection, Database, Record
from scripe_api.db.transaction import UnitOfWork
from scripe_api.projects.service import require_project
from scripe_api.settings import Settings
from scripe_api.webhooks import repository, secrets
from scripe_api.webhooks.schemas import ReplayRequest, WebhookEndpointCreate, WebhookEndpointUpdate

REPLAY_MAX_DAYS = 30
REPLAY_MAX_DELIVERIES = 10_000


class SsrfBlocked(AppError):
    code = "ssrf_blocked"
    status_code = 422
    default_message = "The URL must be https on a public address."


def _check_events(events: Sequence[str]) -> list[str]:
    unknown = [name for name in events if name not in WEBHOOK_EVENTS]
    if unknown:
        raise InvalidRequest(
            f"Unknown event '{unknown[0]}'; known events: {', '.join(WEBHOOK_EVENTS)}.",
            details={"field": "events"},
        )
    return list(dict.fromkeys(events))


async def _check_url(settings: Settings, url: str) -> None:
    """422 ssrf_blocked for a URL we would refuse to deliver to. A host that does not resolve
    (yet) is accepted: every delivery checks it again."""
    try:
        await netguard.resolve(url, allow_private=settings.webhook_private_urls_allowed)
    except netguard.Blocked as error:
        raise SsrfBlocked(f"{error}.", details={"field": "url"}) from error
    except (OSError, UnicodeError):
        return


async def _endpoint(connection: Connection, principal: Principal, endpoint_id: str) -> Record:
    endpoint = await repository.get_endpoint(connection, principal.workspace_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"Webhook endpoint '{endpoint_id}' was not found.")
    return endpoint


async def create_endpoint(
    uow: UnitOfWork, settings: Settings, principal: Principal, body: WebhookEndpointCreate
) -> tuple[Record, str]:
    """The new endpoint and its secret (shown once)."""
    events = _check_events(body.events)
    connection = await uow.connection()
    if body.project_id is not None:
        await require_project(connection, principal, body.project_id)
    await _check_url(settings, body.url)
    secret = secrets.new_secret()
    row = await repository.insert_endpoint(
        connection,
        endpoint_id=new_id("whe"),
        workspace_id=principal.workspace_id,
        project_id=body.project_id,
        name=body.name,
        url=body.url,
        events=events,
        secret_ciphertext=secrets.encrypt(settings, secret),
        secret_last4=secrets.last4(secret),
        created_at=utc_now(),
    )
    return row, secret


async def read_endpoint(database: Database, principal: Principal, endpoint_id: str) -> Record:
    async with database.connection(principal.workspace_id) as connection:
        return await _endpoint(connection, principal, endpoint_id)


async def list_endpoints(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    *,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    request = codec.page_request(limit, cursor, "webhook-endpoints", principal.workspace_id, {})
    async with database.connection(principal.workspace_id) as connection:
        return await repository.list_endpoints(connection, principal.workspace_id, request, codec)


async def update_endpoint(
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal,
    endpoint_id: str,
    body: WebhookEndpointUpdate,
) -> Record:
    connection = await uow.connection()
    endpoint = await repository.get_endpoint(
        connection, principal.workspace_id, endpoint_id, for_update=True
    )
    if endpoint is None:
        raise NotFound(f"Webhook endpoint '{endpoint_id}' was not found.")
    fields = body.model_fields_set
    events = endpoint["events"]
    if "events" in fields and body.events is not None:
        events = _check_events(body.events)
    project_id = endpoint["project_id"]
    if "project_id" in fields:
        project_id = body.project_id
        if project_id is not None:
            await require_project(connection, principal, project_id)
    url = endpoint["url"]
    if "url" in fields and body.url is not None:
        await _check_url(settings, body.url)
        url = body.url
    name = body.name if "name" in fields and body.name is not None else endpoint["name"]
    is_active = endpoint["is_active"]
    if "is_active" in fields and body.is_active is not None:
        is_active = body.is_active
    if (name, url, list(events), project_id, is_active) == (
        endpoint["name"],
        endpoint["url"],
        list(endpoint["events"]),
        endpoint["project_id"],
        endpoint["is_active"],
    ):
        return endpoint  # nothing changed: `updatedAt` is the last real change
    return await repository.update_endpoint(
        connection,
        principal.workspace_id,
        endpoint_id,
        name=name,
        url=url,
        events=events,
        project_id=project_id,
        is_active=is_active,
        updated_at=utc_now(),
    )


async def delete_endpoint(uow: UnitOfWork, principal: Principal, endpoint_id: str) -> Record:
    connection = await uow.connection()
    endpoint = await repository.delete_endpoint(connection, principal.workspace_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"Webhook endpoint '{endpoint_id}' was not found.")
    return endpoint


async def rotate_secret(
    uow: UnitOfWork, settings: Settings, principal: Principal, endpoint_id: str
) -> tuple[Record, str]:
    """A new secret (shown once); the old one keeps signing for the overlap setting."""
    secret = secrets.new_secret()
    connection = await uow.connection()
    endpoint = await repository.rotate_secret(
        connection,
        principal.workspace_id,
        endpoint_id,
        secret_ciphertext=secrets.encrypt(settings, secret),
        secret_last4=secrets.last4(secret),
        overlap_seconds=settings.webhook_secret_overlap_seconds,
        updated_at=utc_now(),
    )
    if endpoint is None:
        raise NotFound(f"Webhook endpoint '{endpoint_id}' was not found.")
    return endpoint, secret


async def list_deliveries(
    database: Database,
    principal: Principal,
    codec: CursorCodec,
    endpoint_id: str,
    *,
    status: str | None,
    event_type: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Record]:
    request = codec.page_request(
        limit,
        cursor,
        "webhook-deliveries",
        principal.workspace_id,
        {"endpoint": endpoint_id, "status": status, "eventType": event_type},
    )
    async with database.connection(principal.workspace_id) as connection:
        await _endpoint(connection, principal, endpoint_id)
        return await repository.list_deliveries(
            connection,
            endpoint_id,
            status=status,
            event_type=event_type,
            request=request,
            codec=codec,
        )


async def redeliver(
    uow: UnitOfWork, principal: Principal, endpoint_id: str, delivery_id: str
) -> Record:
    connection = await uow.connection()
    delivery = await repository.redeliver(
        connection, principal.workspace_id, endpoint_id, delivery_id
    )
    if delivery is None:
        raise NotFound(f"Delivery '{delivery_id}' of endpoint '{endpoint_id}' was not found.")
    return delivery


async def replay(
    uow: UnitOfWork, principal: Principal, endpoint_id: str, body: ReplayRequest
) -> int:
    try:
        since = body.since.astimezone(UTC)
    except OverflowError:  # year 1 at a positive offset: before any delivery anyway
        since = datetime.min.replace(tzinfo=UTC)
    if since < datetime.now(UTC) - timedelta(days=REPLAY_MAX_DAYS):
        raise InvalidRequest(
            f"since must be within the last {REPLAY_MAX_DAYS} days (deliveries are kept that "
            "long).",
            details={"field": "since"},
        )
    connection = await uow.connection()
    await _endpoint(connection, principal, endpoint_id)
    return await repository.replay(
        connection, endpoint_id, since=since, status=body.status, limit=REPLAY_MAX_DELIVERIES
    )
