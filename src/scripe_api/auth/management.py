"""Key management (the CLI's; the public API has no key endpoints, by design)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth import keys, repository
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
    return await repository.keys_of(session, workspace_id)


async def revoke_key(session: AsyncSession, key_id: str) -> None:
    """Permanent. Takes effect within the auth cache TTL (≤ 5 s) in every process."""
    if not await repository.mark_revoked(session, key_id) and not await repository.key_exists(
        session, key_id
    ):
        raise NotFound(f"Key '{key_id}' was not found.")
