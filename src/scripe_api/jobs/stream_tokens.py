"""Event-stream tokens: one job's event stream opened without an API key (EVENTS.md §1).

A browser's `EventSource` cannot send an `Authorization` header, and an API key never goes in a
URL. So a client holding a key mints a token (`POST /v1/jobs/{jobId}/events/token`) and gives
the page `GET /v1/jobs/{jobId}/events?token=…`. The token is a short-lived, read-only
credential for that one job's stream and nothing else:

    est_<secret version>.<expiry, unix seconds>.<workspace id>.<key id>.<mac>

`mac` is base64url (unpadded) HMAC-SHA-256, under the server secret of that version, of the job
id, workspace id, key id and expiry (as one JSON array: no field can run into the next). The
newest secret signs; any active version verifies, so rotating the secret invalidates nothing
(API.md §2). The job id is not in the token: it is the URL's, and a token presented on another
job's stream does not verify.

A token is only as good as the key that minted it: each stream it opens reads the key (one
round trip), so a revoked or expired key, a deleted workspace or a key that lost its scopes
stops its tokens at once. Expiry is judged on the database clock, like a key's.

Statements (one round trip each, prepared once per connection; in the repositories):
- jobs.repository.JOB_CLOCK: the job exists in the workspace (else 404), and the database clock
  (the expiry).
- auth.repository.READ_KEY_FOR_STREAM: the minting key and its workspace as authentication sees
  them, and the clock.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import orjson

from scripe_api.auth.principal import Principal
from scripe_api.auth.repository import READ_KEY_FOR_STREAM as READ_KEY
from scripe_api.core.errors import InvalidToken, KeyExpired, KeyRevoked, NotFound
from scripe_api.db.base import can_exist
from scripe_api.db.pool import Database
from scripe_api.jobs.repository import JOB_CLOCK

PREFIX = "est_"
# Ours are about 130 characters; anything much longer is not one (and is not hashed).
_MAX_LENGTH = 512
# Unix seconds: well past any expiry we mint.
_MAX_EXPIRY_DIGITS = 12
# Unpadded base64url of a SHA-256 MAC.
_MAC_LENGTH = 43


@dataclass(frozen=True, slots=True)
class StreamToken:
    token: str
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Claims:
    version: int
    expiry: int
    workspace_id: str
    key_id: str
    mac: str


class StreamTokens:
    """Mints and verifies the event-stream tokens of one process's secrets."""

    def __init__(
        self, database: Database, secrets: list[tuple[int, bytes]], ttl_seconds: int
    ) -> None:
        """`secrets`: the active versions, newest first (`Settings.secrets_newest_first`)."""
        self._database = database
        self._secrets = secrets
        self._ttl_seconds = ttl_seconds

    async def mint(self, principal: Principal, job_id: str) -> StreamToken:
        """A token for `job_id`'s stream, for as long as the key stays valid and at most the
        configured lifetime. 404 for a job the key cannot see."""
        workspace_id = principal.workspace_id
        row = None
        if can_exist(job_id):
            row = await self._database.fetchrow(
                JOB_CLOCK, job_id, workspace_id, tenant=workspace_id
            )
        if row is None:
            raise NotFound(f"Job '{job_id}' was not found.")
        db_now: datetime = row[0]
        expiry = int(db_now.timestamp()) + self._ttl_seconds
        version, secret = self._secrets[0]
        mac = _mac(secret, job_id, workspace_id, principal.key_id, expiry)
        token = f"{PREFIX}{version}.{expiry}.{workspace_id}.{principal.key_id}.{mac}"
        return StreamToken(
            token=token,
            url=f"/v1/jobs/{quote(job_id, safe='')}/events?token={token}",
            expires_at=datetime.fromtimestamp(expiry, UTC),
        )

    async def principal_for(self, token: str, job_id: str) -> Principal:
        """The key behind a token presented on `job_id`'s stream, as authentication would
        resolve it. 401 `invalid_token` for a token that is malformed, tampered with, signed by
        a retired secret, for another job or expired; `key_revoked`/`key_expired` when its key
        is."""
        claims = _parse(token)
        secret = dict(self._secrets).get(claims.version) if claims is not None else None
        if claims is None or secret is None or not can_exist(job_id):
            raise _invalid()
        expected = _mac(secret, job_id, claims.workspace_id, claims.key_id, claims.expiry)
        if not hmac.compare_digest(expected.encode(), claims.mac.encode()):
            raise _invalid()
        row = await self._database.fetchrow(
            READ_KEY, claims.key_id, claims.workspace_id, tenant=claims.workspace_id
        )
        if row is None or row["is_workspace_deleted"]:
            raise _invalid()
        if row["db_now"].timestamp() >= claims.expiry:
            raise InvalidToken(
                "The event-stream token has expired; mint another with "
                "POST /v1/jobs/{jobId}/events/token."
            )
        if row["is_revoked"]:
            raise KeyRevoked("The API key that minted this event-stream token has been revoked.")
        if row["is_expired"]:
            raise KeyExpired("The API key that minted this event-stream token has expired.")
        return Principal(
            key_id=claims.key_id,
            workspace_id=claims.workspace_id,
            workspace_name=row["workspace_name"],
            plan=row["plan"],
            scopes=frozenset(row["scopes"]),
            mode="test" if row["mode"] == "test" else "live",
        )


def _mac(secret: bytes, job_id: str, workspace_id: str, key_id: str, expiry: int) -> str:
    message = orjson.dumps(["job-events", job_id, workspace_id, key_id, expiry])
    digest = hmac.digest(secret, message, "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _parse(token: str) -> _Claims | None:
    """The token's fields, or None when it is not shaped like one of ours."""
    if len(token) > _MAX_LENGTH or not token.startswith(PREFIX):
        return None
    parts = token.removeprefix(PREFIX).split(".")
    if len(parts) != 5:
        return None
    version, expiry, workspace_id, key_id, mac = parts
    if not (version.isascii() and version.isdigit() and len(version) <= 9):
        return None
    if not (expiry.isascii() and expiry.isdigit() and len(expiry) <= _MAX_EXPIRY_DIGITS):
        return None
    if not workspace_id or not key_id or not can_exist(workspace_id) or not can_exist(key_id):
        return None
    if len(mac) != _MAC_LENGTH:
        return None
    return _Claims(int(version), int(expiry), workspace_id, key_id, mac)


def _invalid() -> InvalidToken:
    return InvalidToken("The event-stream token is not valid for this job.")
