"""Resolve a bearer token to a `Principal`, with a short in-process cache.

Checks, in order: header shape (unauthenticated) → key shape and lookup (invalid_token) →
deleted workspace (invalid_token) → revoked → expired. Plan and scope checks belong to the
access guard, which runs after this.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripe_api.auth import keys, repository
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import InvalidToken, KeyExpired, KeyRevoked, Unauthenticated
from scripe_api.db.pool import Database
from scripe_api.settings import Settings

logger = logging.getLogger(__name__)

# Bound the cache so a flood of distinct valid keys cannot grow memory without limit.
_MAX_CACHE_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _KeyState:
    principal: Principal
    workspace_deleted: bool
    revoked: bool
    expires_at: datetime | None
    # Database clock at lookup, and the monotonic time it was read: expiry is judged on the
    # database clock, advanced by the time elapsed since.
    db_now: datetime
    fetched_at: float

    def db_clock(self) -> datetime:
        return self.db_now + timedelta(seconds=time.monotonic() - self.fetched_at)


class Authenticator:
    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self._secrets = settings.secrets_newest_first()
        self._cache: dict[bytes, _KeyState] = {}
        self._last_touch: dict[str, float] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer_token(authorization)
        if not keys.is_well_formed(token):
            raise InvalidToken()
        current_digest = keys.digest(self._secrets[0][1], token)
        state = self._cached(current_digest)
        if state is None:
            state = await self._load(token, current_digest)
        _raise_if_unusable(state)
        await self._touch(state.principal.key_id)
        return state.principal

    def _cached(self, current_digest: bytes) -> _KeyState | None:
        state = self._cache.get(current_digest)
        if state is None:
            return None
        if time.monotonic() - state.fetched_at >= self._settings.auth_cache_ttl_seconds:
            del self._cache[current_digest]
            return None
        return state

    async def _load(self, token: str, current_digest: bytes) -> _KeyState:
        digests = {version: keys.digest(secret, token) for version, secret in self._secrets}
        async with self._database.connection() as connection:
            record = await repository.find_by_digests(connection, list(digests.values()))
            if record is None:
                raise InvalidToken()
            expected = digests.get(record.secret_version)
            # The row was found by digest; compare again in constant time against the digest
            # for the row's own secret version, so a lookup quirk can never authenticate.
            if expected is None or not hmac.compare_digest(expected, record.digest):
                raise InvalidToken()
            if record.secret_version != self._secrets[0][0]:
                # Found under an older secret: move it to the current one (rotation).
                await repository.redigest(
                    connection, record.key_id, current_digest, self._secrets[0][0]
                )
        state = _KeyState(
            principal=Principal(
                key_id=record.key_id,
                workspace_id=record.workspace_id,
                workspace_name=record.workspace_name,
                plan=record.plan,
                scopes=frozenset(record.scopes),
                mode="test" if record.mode == "test" else "live",
            ),
            workspace_deleted=record.is_workspace_deleted,
            revoked=record.is_revoked,
            expires_at=record.expires_at,
            db_now=record.db_now,
            fetched_at=time.monotonic(),
        )
        if self._settings.auth_cache_ttl_seconds > 0:
            if len(self._cache) >= _MAX_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[current_digest] = state
        return state

    async def _touch(self, key_id: str) -> None:
        """Refresh `lastUsedAt` at most once per interval per key (never on every request)."""
        interval = self._settings.last_used_interval_seconds
        now = time.monotonic()
        last = self._last_touch.get(key_id)
        if last is not None and now - last < interval:
            return
        self._last_touch[key_id] = now
        if len(self._last_touch) > _MAX_CACHE_ENTRIES:
            self._last_touch = {key_id: now}
        async with self._database.connection() as connection:
            await repository.touch_last_used(connection, key_id, interval)


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated()
    return token


def _raise_if_unusable(state: _KeyState) -> None:
    if state.workspace_deleted:
        raise InvalidToken()
    if state.revoked:
        raise KeyRevoked()
    if state.expires_at is not None and state.db_clock() >= state.expires_at:
        raise KeyExpired()
