from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from scripe_api.api.access import Access
from scripe_api.api.dependencies import CursorQuery, LimitQuery, ServicesDep, UnitOfWorkDep
from scripe_api.api.idempotency import sealed_replay
from scripe_api.api.openapi import WEBHOOK_ENDPOINT_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope, ListEnvelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import InvalidRequest, NotFound, Unprocessable
from scripe_api.db.pool import Record
from scripe_api.webhooks import service
from scripe_api.webhooks.schemas import (
    DeliveryStatus,
    EventName,
    ReplayRequest,
    ReplayResult,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from scripe_api.webhooks.service import SsrfBlocked

router = APIRouter(route_class=GuardedRoute, tags=["webhooks"])

WebhooksReader = Annotated[Principal, Depends(Access(("webhooks:manage",), "read"))]
WebhooksWriter = Annotated[Principal, Depends(Access(("webhooks:manage",), "write"))]
EndpointId = Annotated[str, Path(alias="endpointId")]


def _with_secret(endpoint: Record, secret: str) -> Envelope[WebhookEndpointWithSecret]:
    read = WebhookEndpointRead.from_row(endpoint)
    return Envelope[WebhookEndpointWithSecret](
        data=WebhookEndpointWithSecret(**read.model_dump(), secret=secret)
    )


@router.post(
    "/webhook-endpoints",
    response_model=Envelope[WebhookEndpointWithSecret],
    summary="Create a webhook endpoint",
    response_description="The endpoint, with its signing secret (shown only now).",
    responses={200: {"links": WEBHOOK_ENDPOINT_LINKS}, **error_responses(NotFound, SsrfBlocked)},
)
@sealed_replay
async def create_webhook_endpoint(
    body: WebhookEndpointCreate,
    principal: WebhooksWriter,
    services: ServicesDep,
    uow: UnitOfWorkDep,
) -> Envelope[WebhookEndpointWithSecret]:
    """Push the chosen events to `url` (https, public addresses only), signed per Standard
    Webhooks with the returned secret. `projectId` limits it to one project's events."""
    endpoint, secret = await service.create_endpoint(uow, services.settings, principal, body)
    return _with_secret(endpoint, secret)


@router.get(
    "/webhook-endpoints",
    response_model=ListEnvelope[WebhookEndpointRead],
    summary="List webhook endpoints",
    response_description="A page of endpoints, newest first.",
)
async def list_webhook_endpoints(
    principal: WebhooksReader,
    services: ServicesDep,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> ListEnvelope[WebhookEndpointRead]:
    """The workspace's endpoints, newest first."""
    page = await service.list_endpoints(
        services.database, principal, services.cursors, limit=limit, cursor=cursor
    )
    return ListEnvelope[WebhookEndpointRead].of(page, WebhookEndpointRead.from_row)


@router.get(
    "/webhook-endpoints/{endpointId}",
    response_model=Envelope[WebhookEndpointRead],
    summary="Get a webhook endpoint",
    response_description="The endpoint (its secret is never shown again).",
    responses=error_responses(NotFound),
)
async def get_webhook_endpoint(
    endpoint_id: EndpointId, principal: WebhooksReader, services: ServicesDep
) -> Envelope[WebhookEndpointRead]:
    """One endpoint."""
    endpoint = await service.read_endpoint(services.database, principal, endpoint_id)
    return Envelope[WebhookEndpointRead](data=WebhookEndpointRead.from_row(endpoint))


@router.patch(
    "/webhook-endpoints/{endpointId}",
    response_model=Envelope[WebhookEndpointRead],
    summary="Update a webhook endpoint",
    response_description="The endpoint after the change.",
    responses=error_responses(NotFound, SsrfBlocked),
)
async def update_webhook_endpoint(
    endpoint_id: EndpointId,
    body: WebhookEndpointUpdate,
    principal: WebhooksWriter,
    services: ServicesDep,
    uow: UnitOfWorkDep,
) -> Envelope[WebhookEndpointRead]:
    """Change any of name, url, events, projectId (null: every project) and isActive;
    re-activating clears `disabledReason` and `failingSince`."""
    endpoint = await service.update_endpoint(uow, services.settings, principal, endpoint_id, body)
    return Envelope[WebhookEndpointRead](data=WebhookEndpointRead.from_row(endpoint))


@router.delete(
    "/webhook-endpoints/{endpointId}",
    response_model=Envelope[WebhookEndpointRead],
    summary="Delete a webhook endpoint",
    response_description="The endpoint as it was; its pending deliveries are dropped.",
    responses=error_responses(NotFound),
)
async def delete_webhook_endpoint(
    endpoint_id: EndpointId, principal: WebhooksWriter, uow: UnitOfWorkDep
) -> Envelope[WebhookEndpointRead]:
    """Delete the endpoint and its delivery log."""
    endpoint = await service.delete_endpoint(uow, principal, endpoint_id)
    return Envelope[WebhookEndpointRead](data=WebhookEndpointRead.from_row(endpoint))


@router.post(
    "/webhook-endpoints/{endpointId}/rotate-secret",
    response_model=Envelope[WebhookEndpointWithSecret],
    summary="Rotate a webhook endpoint's secret",
    response_description="The endpoint with its new secret (shown only now).",
    responses=error_responses(NotFound),
)
@sealed_replay
async def rotate_webhook_secret(
    endpoint_id: EndpointId, principal: WebhooksWriter, services: ServicesDep, uow: UnitOfWorkDep
) -> Envelope[WebhookEndpointWithSecret]:
    """A new signing secret. For 24 hours every delivery carries two signatures, with the new
    and the old secret, so receivers switch without losing a delivery. Each call rotates
    again (replayed only with the same Idempotency-Key)."""
    endpoint, secret = await service.rotate_secret(uow, services.settings, principal, endpoint_id)
    return _with_secret(endpoint, secret)


@router.get(
    "/webhook-endpoints/{endpointId}/deliveries",
    response_model=ListEnvelope[WebhookDeliveryRead],
    summary="List an endpoint's deliveries",
    response_description="A page of deliveries, newest first (kept 30 days).",
    responses=error_responses(NotFound),
)
async def list_webhook_deliveries(
    endpoint_id: EndpointId,
    principal: WebhooksReader,
    services: ServicesDep,
    status: DeliveryStatus | None = None,
    event_type: Annotated[EventName | None, Query(alias="eventType")] = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> ListEnvelope[WebhookDeliveryRead]:
    """Every delivery of the endpoint with its attempts and the receiver's last answer."""
    page = await service.list_deliveries(
        services.database,
        principal,
        services.cursors,
        endpoint_id,
        status=status,
        event_type=event_type,
        limit=limit,
        cursor=cursor,
    )
    return ListEnvelope[WebhookDeliveryRead].of(page, WebhookDeliveryRead.from_row)


@router.post(
    "/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/redeliver",
    status_code=202,
    response_model=Envelope[WebhookDeliveryRead],
    summary="Redeliver an event",
    response_description="The delivery, queued for an attempt now.",
    responses=error_responses(NotFound),
)
async def redeliver_webhook_delivery(
    endpoint_id: EndpointId,
    delivery_id: Annotated[str, Path(alias="deliveryId")],
    principal: WebhooksWriter,
    uow: UnitOfWorkDep,
) -> Envelope[WebhookDeliveryRead]:
    """A new attempt now, of a failed or a succeeded delivery, with the same `webhook-id`."""
    delivery = await service.redeliver(uow, principal, endpoint_id, delivery_id)
    return Envelope[WebhookDeliveryRead](data=WebhookDeliveryRead.from_row(delivery))


@router.post(
    "/webhook-endpoints/{endpointId}/replay",
    status_code=202,
    response_model=Envelope[ReplayResult],
    summary="Replay an endpoint's deliveries",
    response_description="How many deliveries were queued again.",
    responses=error_responses(NotFound, InvalidRequest, Unprocessable),
)
async def replay_webhook_deliveries(
    endpoint_id: EndpointId, body: ReplayRequest, principal: WebhooksWriter, uow: UnitOfWorkDep
) -> Envelope[ReplayResult]:
    """Queue again the endpoint's deliveries created since `since` (at most 30 days back,
    at most 10 000, oldest first): the failed ones, or all."""
    queued = await service.replay(uow, principal, endpoint_id, body)
    return Envelope[ReplayResult](data=ReplayResult(queued=queued))
