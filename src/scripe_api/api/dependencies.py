"""Annotated aliases operations declare their inputs with.

For authenticated operations the request pipeline (`api.pipeline`) supplies these itself; the
functions below are what FastAPI sees (for documentation, and for the few public routes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request

from scripe_api.db.transaction import UnitOfWork

if TYPE_CHECKING:
    from scripe_api.api.state import Services
    from scripe_api.idempotency.service import KeyedRequest


async def get_services(request: Request) -> Services:
    # A coroutine on purpose: FastAPI runs a plain `def` dependency in a worker thread.
    services: Services = request.app.state.services
    return services


async def get_unit_of_work(request: Request) -> UnitOfWork:
    """Supplied by the pipeline: one transaction, committed before the response is sent."""
    raise RuntimeError("a unit of work is only available to authenticated operations")


async def get_idempotency_key(request: Request) -> KeyedRequest | None:
    """Supplied by the pipeline: the request's Idempotency-Key, for an operation that claims
    and completes it in its own statement (the job-submitting ones)."""
    raise RuntimeError("an Idempotency-Key is only available to authenticated operations")


async def get_prefetched(request: Request) -> bytes | None:
    """Supplied by the pipeline: the Redis value `Access.prefetch` named, read together with
    the rate limit."""
    raise RuntimeError("prefetched values are only available to authenticated operations")


ServicesDep = Annotated["Services", Depends(get_services)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
IdempotencyKeyDep = Annotated["KeyedRequest | None", Depends(get_idempotency_key)]
PrefetchedDep = Annotated[bytes | None, Depends(get_prefetched)]

LimitQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=1000,
        description="Page size, default 50. Values from 201 to 1000 are clamped to 200; "
        "anything else outside 1…200 is a 400 bad_pagination.",
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(description="Opaque cursor from a previous page's `pagination.next_cursor`."),
]
