"""Uploads (INGEST.md §1): mint a single-use URL; take the PUT (disk backend); make sure an
upload's bytes are there before a source or a knowledge document consumes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import InvalidRequest, PayloadTooLarge, Unprocessable
from scripe_api.core.ids import new_id
from scripe_api.db.pool import Database, Record
from scripe_api.db.transaction import UnitOfWork
from scripe_api.settings import Settings
from scripe_api.spend.service import cap_for
from scripe_api.uploads import repository
from scripe_api.uploads.errors import (
    UploadAlreadyCompleted,
    UploadNotCompleted,
    UploadUrlInvalid,
)
from scripe_api.uploads.schemas import (
    DOCUMENT_TYPES,
    MEDIA_TYPES,
    TEXT_TYPES,
    UPLOAD_TYPES,
    UploadCreate,
)
from scripe_api.uploads.storage import DiskStorage, Storage, Ticket, TooLarge


def size_cap(settings: Settings, content_type: str) -> int:
    if content_type in DOCUMENT_TYPES:
        return settings.upload_max_document_bytes
    if content_type in TEXT_TYPES:
        return settings.upload_max_text_bytes
    return settings.upload_max_media_bytes


def media_type(content_type: str | None) -> str:
    """`text/plain; charset=utf-8` → `text/plain`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Minted:
    upload: Record
    url: str


def _signature(secret: bytes, version: int, ticket: Ticket) -> str:
    signed = (
        f"upload\n{ticket.upload_id}\n{ticket.content_type}\n{ticket.max_size_bytes}\n"
        f"{ticket.expires_at}"
    ).encode()
    mac = hmac.new(secret, signed, hashlib.sha256).digest()
    return f"{version}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def disk_url(settings: Settings, base_url: str, ticket: Ticket) -> str:
    version, secret = settings.secrets_newest_first()[0]
    signature = _signature(secret, version, ticket)
    base = (settings.public_url or base_url).rstrip("/")
    return (
        f"{base}/v1/uploads/{ticket.upload_id}/content"
        f"?expires={ticket.expires_at}&signature={signature}"
    )


async def mint(
    uow: UnitOfWork,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    body: UploadCreate,
    base_url: str,
) -> Minted:
    content_type = body.content_type.strip().lower()
    if content_type not in UPLOAD_TYPES:
        raise Unprocessable(
            f"contentType '{body.content_type}' is not accepted; accepted: "
            f"{', '.join(UPLOAD_TYPES)}.",
            details={"field": "contentType", "supported": list(UPLOAD_TYPES)},
        )
    cap = size_cap(settings, content_type)
    max_size = body.max_size_bytes or cap
    if max_size > cap:
        raise Unprocessable(
            f"maxSizeBytes is over the {cap} bytes allowed for {content_type}.",
            details={"field": "maxSizeBytes", "maximum": cap},
        )
    upload_id = new_id("upl")
    now = utc_now()
    expires_at = now + timedelta(seconds=settings.upload_url_ttl_seconds)
    key = f"{principal.workspace_id}/{upload_id}"
    ticket = Ticket(upload_id, key, content_type, max_size, int(expires_at.timestamp()))
    connection = await uow.connection()
    row = await repository.insert(
        connection,
        upload_id=upload_id,
        workspace_id=principal.workspace_id,
        content_type=content_type,
        max_size_bytes=max_size,
        storage_key=key,
        expires_at=datetime.fromtimestamp(ticket.expires_at, UTC),
        created_at=now,
    )
    url = storage.put_url(ticket) or disk_url(settings, base_url, ticket)
    return Minted(row, url)


def _check_signature(settings: Settings, upload: Record, expires: int, signature: str) -> None:
    ticket = Ticket(
        upload["id"],
        upload["storage_key"],
        upload["content_type"],
        upload["max_size_bytes"],
        expires,
    )
    version_text = signature.partition(".")[0]
    secrets = dict(settings.secrets_newest_first())
    secret = secrets.get(int(version_text)) if version_text.isdigit() else None
    if secret is None or not hmac.compare_digest(
        _signature(secret, int(version_text), ticket).encode(), signature.encode()
    ):
        raise UploadUrlInvalid()
    if expires != int(upload["expires_at"].timestamp()) or expires < time.time():
        raise UploadUrlInvalid("The upload URL has expired; mint a new one.")


async def receive(
    database: Database,
    settings: Settings,
    storage: DiskStorage,
    upload_id: str,
    *,
    expires: int,
    signature: str,
    content_type: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
) -> None:
    """The disk backend's PUT: checks, then the bytes streamed to disk (never whole in
    memory, stopped at the cap), then the upload completed — once."""
    async with database.connection() as connection:
        upload = await repository.get(connection, upload_id)
    if upload is None:
        raise UploadUrlInvalid()
    _check_signature(settings, upload, expires, signature)
    if upload["status"] != "pending":
        raise UploadAlreadyCompleted()
    if media_type(content_type) != upload["content_type"]:
        raise InvalidRequest(
            f"Content-Type must be {upload['content_type']}, as minted.",
            details={"field": "Content-Type"},
        )
    cap = upload["max_size_bytes"]
    if content_length is not None and content_length.isdigit() and int(content_length) > cap:
        raise PayloadTooLarge(f"The file is over this upload's {cap} bytes.")
    try:
        partial, size = await storage.receive(chunks, cap)
    except TooLarge:
        raise PayloadTooLarge(f"The file is over this upload's {cap} bytes.") from None
    try:
        async with database.connection() as connection:
            if not await repository.complete(connection, upload_id, size):
                raise UploadAlreadyCompleted()
        await storage.keep(partial, upload["storage_key"])
    finally:
        await storage.discard(partial)


@dataclass(frozen=True)
class Reservation:
    """What a submit naming an upload reserves against the daily cap: only audio and video
    call a paid provider (transcription)."""

    cents: int = 0
    cap_cents: int | None = None


async def prepare_upload(
    database: Database,
    storage: Storage,
    settings: Settings,
    principal: Principal,
    upload_id: str | None,
) -> Reservation:
    """Before a submit that references an upload: the upload settled (`_settle`), and what
    the submit reserves for it (a recording's transcription). No connection is held while
    the store is asked."""
    if upload_id is None:
        return Reservation()
    async with database.connection(principal.workspace_id) as connection:
        upload = await repository.get_in_workspace(connection, principal.workspace_id, upload_id)
    if upload is None:
        return Reservation()  # the submit answers 404
    await _settle(database, storage, upload)
    if upload["content_type"] not in MEDIA_TYPES:
        return Reservation()
    return Reservation(settings.transcription_estimate_cents, cap_for(settings, principal.plan))


async def _settle(database: Database, storage: Storage, upload: Record) -> None:
    """With an S3-compatible store the PUT went to the store: the upload is completed here
    once its object is there (of the minted type and within its size; an object that is not
    is deleted). The consumption itself is the submit's."""
    if storage.serves_puts or upload["status"] != "pending":
        return
    stored = await storage.stat(upload["storage_key"])
    if stored is None:
        return
    if (
        stored.content_type is not None
        and media_type(stored.content_type) != upload["content_type"]
    ):
        # A store that did not hold the PUT to its signed Content-Type: as if never sent.
        await storage.delete(upload["storage_key"])
        raise UploadNotCompleted(
            f"The file was sent as {stored.content_type}, not {upload['content_type']} as "
            "minted; it was deleted: PUT it again with the minted Content-Type."
        )
    if stored.size > upload["max_size_bytes"]:
        await storage.delete(upload["storage_key"])
        raise PayloadTooLarge(
            f"The uploaded file is over this upload's {upload['max_size_bytes']} bytes; it was "
            "deleted."
        )
    async with database.connection() as connection:
        await repository.complete(connection, upload["id"], stored.size)
