"""SQL for authenticating API keys, prepared once per connection.

- FIND_BY_DIGESTS: the key whose digest is one of the request's (one per active secret
  version), with its workspace and the database clock (key expiry is judged on it): one round
  trip for an authentication that misses the cache.
- REDIGEST: move a key found under an older secret to the current one (rotation).
- TOUCH_LAST_USED: refresh `last_used_at`, unless another process did within the interval.

Key management (the CLI's, a rare path) runs on the ORM session: `keys_of`, `mark_revoked`,
`key_exists`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.clock import utc_now
from scripe_api.db.base import NOW_MS
from scripe_api.db.models import ApiKey
from scripe_api.db.pool import Connection

FIND_BY_DIGESTS = """
SELECT k.id, k.digest, k.secret_version, k.mode, k.scopes, k.expires_at,
       k.revoked_at IS NOT NULL AS is_revoked,
       w.id AS workspace_id, w.name AS workspace_name, w.plan,
       w.deleted_at IS NOT NULL AS is_workspace_deleted, now() AS db_now
  FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
 WHERE k.digest = ANY($1::bytea[])
"""

REDIGEST = "UPDATE api_keys SET digest = $2, secret_version = $3 WHERE id = $1"

TOUCH_LAST_USED = f"""
UPDATE api_keys SET last_used_at = {NOW_MS}
 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))
"""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    digest: bytes
    secret_version: int
    mode: str
    scopes: list[str]
    expires_at: datetime | None
    is_revoked: bool
    workspace_id: str
    workspace_name: str
    plan: str
    is_workspace_deleted: bool
    db_now: datetime


async def find_by_digests(connection: Connection, digests: list[bytes]) -> KeyRecord | None:
    row = await connection.fetchrow(FIND_BY_DIGESTS, digests)
    return None if row is None else KeyRecord(*row)


async def redigest(connection: Connection, key_id: str, digest: bytes, version: int) -> None:
    await connection.execute(REDIGEST, key_id, digest, version)


async def touch_last_used(connection: Connection, key_id: str, interval_seconds: float) -> None:
    await connection.execute(TOUCH_LAST_USED, key_id, interval_seconds)


async def keys_of(session: AsyncSession, workspace_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(rows.all())


async def mark_revoked(session: AsyncSession, key_id: str) -> bool:
    """Whether this call revoked the key (False: no such key, or revoked already)."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utc_now())
        .returning(ApiKey.id)
    )
    return result.first() is not None


async def key_exists(session: AsyncSession, key_id: str) -> bool:
    return await session.scalar(select(ApiKey.id).where(ApiKey.id == key_id)) is not None


# A key and its workspace as authentication sees them, and the database clock: what an
# event-stream token (jobs.stream_tokens) re-checks when it opens a stream.
READ_KEY_FOR_STREAM = """
SELECT k.scopes, k.mode,
       k.revoked_at IS NOT NULL AS is_revoked,
       k.expires_at IS NOT NULL AND k.expires_at <= now() AS is_expired,
       w.name AS workspace_name, w.plan,
       w.deleted_at IS NOT NULL AS is_workspace_deleted, now() AS db_now
  FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
 WHERE k.id = $1 AND k.workspace_id = $2
"""
