"""Keyset pagination on `(created_at DESC, id DESC)` for any table that has both columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from scripe_api.core.filters import DateRange
from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position

T = TypeVar("T")


def created_within(
    statement: Select[T], created_at: InstrumentedAttribute[datetime], dates: DateRange
) -> Select[T]:
    """`dateFrom <= createdAt < dateTo` (either bound open)."""
    if dates.start is not None:
        statement = statement.where(created_at >= dates.start)
    if dates.end is not None:
        statement = statement.where(created_at < dates.end)
    return statement


async def fetch_page(
    session: AsyncSession,
    statement: Select[T],
    keys: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[str]],
    request: PageRequest,
    codec: CursorCodec,
    position_of: Callable[[T], Position],
) -> Page[T]:
    """Run `statement` (already filtered to the tenant) one page at a time, newest first.

    `keys` are the model's `created_at` and `id` columns. The row comparison
    `(created_at, id) < (:c, :i)` is answered by the `(workspace_id, created_at DESC, id DESC)`
    index, so a page costs the same at any depth.
    """
    created_at, id_ = keys
    if request.after is not None:
        statement = statement.where(
            tuple_(created_at, id_) < tuple_(request.after.created_at, request.after.id)
        )
    statement = statement.order_by(created_at.desc(), id_.desc()).limit(request.limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= request.limit:
        return Page(items=rows, next_cursor=None)
    items = rows[: request.limit]
    return Page(items=items, next_cursor=codec.encode(position_of(items[-1]), request.filter_hash))
