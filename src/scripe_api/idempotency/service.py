"""The record's life (API.md §3): claim, then complete together with the operation, or release.

A claim is its own short committed transaction. A duplicate of a request in flight polls the
row, holding no connection between polls, until the original completes (replay), the lock
expires (take over) or the wait ends (409 in use).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

from scripe_api.core.errors import AppError, error_body
from scripe_api.core.sealing import Sealer
from scripe_api.db.pool import Connection, Database
from scripe_api.idempotency import repository
from scripe_api.idempotency.errors import IdempotencyKeyConflict, IdempotencyKeyInUse
from scripe_api.idempotency.repository import LiveRecord, RecordKey
from scripe_api.settings import Settings

# What the operation may answer and still have replayed: outcomes of the request itself.
# Everything else (402 spend cap, 5xx) may go differently next time, so the claim is released.
_RECORDED_STATUSES = frozenset({404, 422})
_RECORDED_CODES = frozenset({"not_cancellable", "upload_consumed"})


# A recorded body that carries a secret is kept sealed (`core.sealing`), marked by this prefix.
SEALED_PREFIX = "sealed:"


@dataclass(frozen=True)
class Policy:
    lock_seconds: float
    window_seconds: float
    wait_seconds: float
    poll_seconds: float
    # Seals the recorded responses of operations that answer with a secret.
    sealer: Sealer | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            lock_seconds=settings.idempotency_lock_seconds,
            window_seconds=settings.idempotency_window_hours * 3600,
            wait_seconds=settings.idempotency_wait_seconds,
            poll_seconds=settings.idempotency_poll_seconds,
            sealer=Sealer(settings.secrets_newest_first(), b"scripe-idempotency-responses"),
        )


@dataclass(frozen=True)
class StoredResponse:
    """A response as an Idempotency-Key record keeps it, to be replayed byte for byte."""

    status: int
    body: bytes
    headers: dict[str, str]  # only Location and Content-Type are kept


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A request carrying a usable Idempotency-Key: its record's key and its fingerprint."""

    key: RecordKey
    fingerprint: bytes


@dataclass(frozen=True)
class Claim:
    """This request holds `key` while `token` (the record's `locked_until`) is unchanged."""

    key: RecordKey
    token: datetime


def fingerprint(path: str, canonical_body: str) -> bytes:
    """SHA-256 of the concrete path and the canonical body (a newline keeps them apart).

    A body may carry a lone surrogate (`"\\ud800"` is valid JSON); it is hashed as is, so the
    same request still has the same fingerprint (the operation then refuses the value)."""
    return hashlib.sha256(f"{path}\n{canonical_body}".encode("utf-8", "surrogatepass")).digest()


def is_recorded(error: AppError) -> bool:
    return error.status_code in _RECORDED_STATUSES or error.code in _RECORDED_CODES


def ran_under_the_key(error: AppError) -> bool:
    """Whether a keyed request that failed with `error` had claimed its key (its answer then
    says `Idempotent-Replayed: false`): a recorded refusal, or a spend cap (released)."""
    return is_recorded(error) or error.status_code == 402


async def claim(
    database: Database,
    policy: Policy,
    key: RecordKey,
    request_fingerprint: bytes,
) -> Claim | StoredResponse:
    """Claim `key` for this request, or the response recorded for it.

    Raises `IdempotencyKeyConflict` when the key was used for another request, and
    `IdempotencyKeyInUse` when the original is still running after the wait. Each look takes a
    connection and gives it back: none is held while waiting.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.wait_seconds
    while True:
        async with database.connection(key.workspace_id) as connection:
            outcome = await _attempt(connection, policy, key, request_fingerprint)
        if outcome is not None:
            return outcome
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise IdempotencyKeyInUse()
        await asyncio.sleep(min(policy.poll_seconds, remaining))


async def _attempt(
    connection: Connection, policy: Policy, key: RecordKey, request_fingerprint: bytes
) -> Claim | StoredResponse | None:
    """One look at the record; None means "held by a live request: wait"."""
    token = await repository.claim_if_absent(
        connection,
        key,
        request_fingerprint,
        lock_seconds=policy.lock_seconds,
        window_seconds=policy.window_seconds,
    )
    if token is not None:
        return Claim(key, token)
    record = await repository.get_live(connection, key, policy.window_seconds)
    if record is None:
        # Released or expired since the insert looked: the next look claims it.
        return None
    if record.fingerprint != request_fingerprint:
        raise IdempotencyKeyConflict()
    if record.state == "completed":
        return _stored(record, policy)
    if record.is_locked or record.locked_until is None:
        return None
    token = await repository.take_over(connection, key, record.locked_until, policy.lock_seconds)
    return None if token is None else Claim(key, token)


def _stored(record: LiveRecord, policy: Policy) -> StoredResponse:
    assert record.response_status is not None
    assert record.response_body is not None
    body = record.response_body
    if body.startswith(SEALED_PREFIX):
        assert policy.sealer is not None
        raw = policy.sealer.unseal(body.removeprefix(SEALED_PREFIX))
    else:
        raw = body.encode()
    return StoredResponse(record.response_status, raw, dict(record.response_headers or {}))


async def complete(
    connection: Connection,
    claim: Claim,
    response: StoredResponse,
    sealer: Sealer | None = None,
) -> None:
    """Record `response` in the operation's own transaction (the caller commits both); sealed
    with `sealer` when given (a response that carries a secret)."""
    body = response.body.decode()
    if sealer is not None:
        body = SEALED_PREFIX + sealer.seal(response.body)
    is_ours = await repository.complete(
        connection,
        claim.key,
        claim.token,
        status=response.status,
        body=body,
        headers=response.headers,
    )
    if not is_ours:
        # The lock expired and another request took the key over: this one must not commit.
        raise IdempotencyKeyInUse(
            "This request outlived its Idempotency-Key lock and another request took it over."
        )


async def complete_alone(database: Database, claim: Claim, response: StoredResponse) -> None:
    """Record an error the operation answered with, after its own transaction rolled back."""
    async with database.connection(claim.key.workspace_id) as connection:
        await complete(connection, claim, response)


async def release(database: Database, claim: Claim) -> None:
    """Forget the claim so that a retry runs the operation again."""
    async with database.connection(claim.key.workspace_id) as connection:
        await repository.release(connection, claim.key, claim.token)


async def purge_expired(database: Database, policy: Policy) -> int:
    """Delete the records older than the window; how many went."""
    async with database.connection() as connection:
        return await repository.purge_older_than(connection, policy.window_seconds)


async def refuse_once(
    database: Database,
    policy: Policy,
    keyed: KeyedRequest,
    error: AppError,
    request_id: str,
) -> StoredResponse | None:
    """A keyed request its operation refuses before doing anything: the key decides first
    (its recorded response, or a conflict), then a recorded refusal (404, 422) is recorded.
    The recorded response to replay, or None once `error` is this request's answer."""
    outcome = await claim(database, policy, keyed.key, keyed.fingerprint)
    if isinstance(outcome, StoredResponse):
        return outcome
    if is_recorded(error):
        body = error_body(error, request_id)
        response = StoredResponse(error.status_code, body, {"Content-Type": "application/json"})
        await complete_alone(database, outcome, response)
    else:
        await release(database, outcome)
    return None
