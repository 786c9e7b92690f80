"""Key management (the CLI's; the public API has no key endpoints, by design)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth import keys
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import InvalidRequest, NotFound
from scripe_api.core.ids import new_id
from scripe_api.db.models import ApiKey
from scripe_api.settings import Settings
from scripe_api.workspaces.service import get_workspace


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    # The only time the secret exists outside the caller's hands: show it once, never store it.
    secret: str


async def create_key(
    session: AsyncSession,
    settings: Settings,
    workspace_id: str,
    *,
    name: str,
    scopes: Iterable[str],
    mode: keys.KeyMode = "live",
    expires_at: datetime | None = None,
) -> CreatedKey:
    await get_workspace(session, workspace_id)
    scope_list = sorted(set(scopes))
    unknown = [scope for scope in scope_list if scope not in keys.ALL_SCOPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(keys.ALL_SCOPES)}."
        )
    version, secret = settings.secrets_newest_first()[0]
    token = keys.generate_key(mode)
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        name=name,
        digest=keys.digest(secret, token),
        secret_version=version,
        hint=keys.hint(token),
        mode=mode,
        scopes=scope_list,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return CreatedKey(key=key, secret=token)


async def list_keys(session: AsyncSession, workspace_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(rows.all())


async def revoke_key(session: AsyncSession, key_id: str) -> None:
    """Permanent. Takes effect within the auth cache TTL (≤ 5 s) in every process."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utc_now())
        .returning(ApiKey.id)
    )
    if result.first() is None:
        exists = await session.scalar(select(ApiKey.id).where(ApiKey.id == key_id))
        if exists is None:
            raise NotFound(f"Key '{key_id}' was not found.")
