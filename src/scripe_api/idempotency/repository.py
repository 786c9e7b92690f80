"""SQL for idempotency records. Times are the database's (every API process must agree on the
30 s lock and the 24 h window). Each transition after the claim is a compare-and-set on
`locked_until`, the claim's token: a request whose claim was taken over changes nothing.
Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    and_,
    delete,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Interval

from scripe_api.db.models import IdempotencyRecord


@dataclass(frozen=True)
class RecordKey:
    workspace_id: str
    scope: str  # method + route template, e.g. "PATCH /v1/posts/{postId}"
    key: str


@dataclass(frozen=True)
class LiveRecord:
    """A record younger than the window, as its claimants see it."""

    fingerprint: bytes
    state: str
    locked_until: datetime | None
    is_locked: bool
    response_status: int | None
    response_body: Any
    response_headers: dict[str, str] | None


def _seconds(value: float) -> ColumnElement[timedelta]:
    return literal(timedelta(seconds=value), Interval())


def _is(key: RecordKey) -> ColumnElement[bool]:
    return and_(
        IdempotencyRecord.workspace_id == key.workspace_id,
        IdempotencyRecord.scope == key.scope,
        IdempotencyRecord.key == key.key,
    )


async def claim_if_absent(
    session: AsyncSession,
    key: RecordKey,
    fingerprint: bytes,
    *,
    lock_seconds: float,
    window_seconds: float,
) -> datetime | None:
    """Insert an in-flight claim, or replace in place a record older than the window (it
    counts as absent). Returns the claim's token, or None when a live record holds the key."""
    inserted = insert(IdempotencyRecord).values(
        workspace_id=key.workspace_id,
        scope=key.scope,
        key=key.key,
        fingerprint=fingerprint,
        state="in_flight",
        locked_until=func.now() + _seconds(lock_seconds),
        created_at=func.now(),
    )
    statement = inserted.on_conflict_do_update(
        index_elements=[
            IdempotencyRecord.workspace_id,
            IdempotencyRecord.scope,
            IdempotencyRecord.key,
        ],
        set_={
            "fingerprint": inserted.excluded.fingerprint,
            "state": "in_flight",
            "locked_until": inserted.excluded.locked_until,
            "created_at": inserted.excluded.created_at,
            "response_status": null(),
            "response_body": null(),
            "response_headers": null(),
            "completed_at": null(),
        },
        where=IdempotencyRecord.created_at <= func.now() - _seconds(window_seconds),
    ).returning(IdempotencyRecord.locked_until)
    token: datetime | None = await session.scalar(statement)
    return token


async def get_live(
    session: AsyncSession, key: RecordKey, window_seconds: float
) -> LiveRecord | None:
    row = (
        await session.execute(
            select(
                IdempotencyRecord.fingerprint,
                IdempotencyRecord.state,
                IdempotencyRecord.locked_until,
                func.coalesce(IdempotencyRecord.locked_until > func.now(), False),
                IdempotencyRecord.response_status,
                IdempotencyRecord.response_body,
                IdempotencyRecord.response_headers,
            ).where(
                _is(key),
                IdempotencyRecord.created_at > func.now() - _seconds(window_seconds),
            )
        )
    ).one_or_none()
    return None if row is None else LiveRecord(*row)


async def take_over(
    session: AsyncSession, key: RecordKey, seen_locked_until: datetime, lock_seconds: float
) -> datetime | None:
    """Take over an in-flight claim whose lock expired (its request died); the new token, or
    None when another request got there first."""
    token: datetime | None = await session.scalar(
        update(IdempotencyRecord)
        .where(
            _is(key),
            IdempotencyRecord.state == "in_flight",
            IdempotencyRecord.locked_until == seen_locked_until,
            IdempotencyRecord.locked_until <= func.now(),
        )
        .values(locked_until=func.now() + _seconds(lock_seconds))
        .returning(IdempotencyRecord.locked_until)
    )
    return token


async def complete(
    session: AsyncSession,
    key: RecordKey,
    token: datetime,
    *,
    status: int,
    body: str,
    headers: dict[str, str],
) -> bool:
    """Record the response; False when the claim is no longer this request's."""
    completed = await session.scalar(
        update(IdempotencyRecord)
        .where(
            _is(key),
            IdempotencyRecord.state == "in_flight",
            IdempotencyRecord.locked_until == token,
        )
        .values(
            state="completed",
            locked_until=None,
            response_status=status,
            # The body as sent, as a JSON string: jsonb would reorder the keys, and a replay
            # is the original response byte for byte.
            response_body=body,
            response_headers=headers,
            completed_at=func.now(),
        )
        .returning(IdempotencyRecord.key)
    )
    return completed is not None


async def release(session: AsyncSession, key: RecordKey, token: datetime) -> bool:
    released = await session.scalar(
        delete(IdempotencyRecord)
        .where(
            _is(key),
            IdempotencyRecord.state == "in_flight",
            IdempotencyRecord.locked_until == token,
        )
        .returning(IdempotencyRecord.key)
    )
    return released is not None


async def purge_older_than(session: AsyncSession, window_seconds: float) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at <= func.now() - _seconds(window_seconds)
        )
    )
    return cast("CursorResult[Any]", result).rowcount
