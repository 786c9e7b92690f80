"""Annotated aliases routes declare their inputs with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request

from scripe_api.api.state import Services
from scripe_api.db.session import UnitOfWork


async def get_services(request: Request) -> Services:
    # A coroutine on purpose: FastAPI runs a plain `def` dependency in a worker thread, and that
    # hop (plus the GIL hand-offs it causes under load) cost more than the rest of a request.
    services: Services = request.app.state.services
    return services


async def get_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    # scope="function" (below): the commit runs when the handler returns, before the response
    # is sent, so a client never sees a success that is not durable.
    services: Services = request.app.state.services
    # A GET only reads: no transaction to open and commit around its one or two queries.
    async with services.resources.unit_of_work(read_only=request.method == "GET") as uow:
        yield uow


ServicesDep = Annotated[Services, Depends(get_services)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]

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
