from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from scripe_api.api.access import Access
from scripe_api.api.dependencies import ServicesDep
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import ErrorEnvelope
from scripe_api.auth.principal import Principal
from scripe_api.health import service
from scripe_api.health.schemas import (
    HealthAuthPrincipal,
    HealthAuthRead,
    HealthAuthWorkspace,
    HealthRead,
    ProbeRead,
)

router = APIRouter(route_class=GuardedRoute, tags=["health"])
probes = APIRouter(tags=["probes"])

AnyKey = Annotated[Principal, Depends(Access())]


@router.get(
    "/health",
    response_model=HealthRead,
    summary="Service health",
    response_description="Healthy: database, Redis and queue answer.",
    responses={503: {"model": HealthRead, "description": "Degraded: a dependency failed."}},
)
async def get_health(request: Request, response: Response, services: ServicesDep) -> HealthRead:
    """Service health: database and Redis reachability with latency, queue depth and which
    post generator is active. No key needed. `503` when degraded."""
    health = await service.check_health(
        services.resources, request.state.response_headers["Scripe-Api-Version"]
    )
    response.status_code = 200 if health.status == "ok" else 503
    response.headers["Cache-Control"] = "max-age=5, public"
    return health


@router.get(
    "/health/auth",
    response_model=HealthAuthRead,
    summary="Check an API key",
    response_description="The key is valid: its workspace and scopes.",
)
async def get_health_auth(request: Request, principal: AnyKey) -> HealthAuthRead:
    """Check a key: which workspace it belongs to and its scopes."""
    return HealthAuthRead(
        status="ok",
        version=request.state.response_headers["Scripe-Api-Version"],
        workspace=HealthAuthWorkspace(id=principal.workspace_id),
        principal=HealthAuthPrincipal(id=principal.key_id, scopes=sorted(principal.scopes)),
    )


@probes.get("/livez", response_model=ProbeRead, include_in_schema=False)
async def get_livez() -> ProbeRead:
    return ProbeRead(status="ok")


@probes.get(
    "/readyz",
    response_model=ProbeRead,
    include_in_schema=False,
    responses={503: {"model": ErrorEnvelope}},
)
async def get_readyz(response: Response, services: ServicesDep) -> ProbeRead:
    problem = await service.readiness(services.resources)
    if problem is not None:
        response.status_code = 503
        return ProbeRead(status="unavailable", detail=problem)
    return ProbeRead(status="ok")
