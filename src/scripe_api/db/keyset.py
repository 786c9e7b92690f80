"""Keyset pagination on `(created_at DESC, id DESC)` for any table that has both columns.

The row comparison `(created_at, id) < ($c, $i)` is answered by the table's
`(workspace_id, …, created_at DESC, id DESC)` index, so a page costs the same at any depth.
"""

from __future__ import annotations

import functools

from scripe_api.core.pagination import CursorCodec, Page, PageRequest, Position
from scripe_api.db.pool import Connection, Record


@functools.cache
def _page_statement(select: str, conditions: tuple[str, ...], after: bool) -> str:
    count = sum(condition.count("$") for condition in conditions)
    where = list(conditions)
    if after:
        where.append(f"(created_at, id) < (${count + 2}, ${count + 3})")
    return (
        f"{select} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ${count + 1}"
    )


async def fetch_page(
    connection: Connection,
    select: str,
    conditions: tuple[str, ...],
    args: tuple[object, ...],
    request: PageRequest,
    codec: CursorCodec,
) -> Page[Record]:
    """`select` (already scoped to the tenant by `conditions`, whose placeholders are $1…$n
    for `args`), one page at a time, newest first. The rows must have `created_at` and `id`."""
    statement = _page_statement(select, conditions, request.after is not None)
    extra: tuple[object, ...] = (request.limit + 1,)
    if request.after is not None:
        extra += (request.after.created_at, request.after.id)
    rows = await connection.fetch(statement, *args, *extra)
    if len(rows) <= request.limit:
        return Page(items=list(rows), next_cursor=None)
    items = list(rows[: request.limit])
    last = items[-1]
    return Page(
        items=items,
        next_cursor=codec.encode(Position(last["created_at"], last["id"]), request.filter_hash),
    )
