"""Where uploaded bytes live (INGEST.md §1): one interface, two real backends.

- `DiskStorage` (the embedded default: dev, tests, a single box): files under
  `data_dir/uploads`. The upload URL points at the API itself
  (`PUT /v1/uploads/{id}/content?expires=…&signature=…`, signed with the server secret), which
  streams the body to a temporary file, counting bytes and stopping at the cap, and moves it
  into place only when it is whole.
- `S3Storage` (production: AWS S3, MinIO, R2…): the upload URL is the store's own presigned PUT,
  signed for the minted Content-Type; the size is checked when the upload is referenced (a
  presigned PUT cannot carry a range), and an object over the cap is deleted then.

The worker reads an upload's bytes into a local temporary file (`fetch_to`) for extraction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scripe_api.settings import Settings

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    size: int
    # As the store recorded it from the PUT (None: the store keeps none, as a disk does).
    content_type: str | None


class TooLarge(Exception):
    """The body went past the upload's size cap (nothing was kept)."""


@dataclass(frozen=True)
class Ticket:
    """What a presigned URL is for."""

    upload_id: str
    key: str
    content_type: str
    max_size_bytes: int
    expires_at: int  # Unix seconds


class Storage(Protocol):
    # True: clients PUT to the API itself (`DiskStorage`); False: to the store's URL.
    serves_puts: bool

    def put_url(self, ticket: Ticket) -> str | None:
        """The store's own presigned PUT URL, or None when the API takes the PUT."""

    async def stat(self, key: str) -> Stored | None:
        """The stored object's size and media type, None when nothing is stored under `key`."""

    async def fetch_to(self, key: str, destination: Path) -> None:
        """Copy the object into a local file."""

    async def delete(self, key: str) -> None:
        """Delete the object (absent: nothing to do)."""


class DiskStorage:
    serves_puts = True

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} leaves the storage folder")
        return path

    def put_url(self, ticket: Ticket) -> str | None:
        return None

    async def receive(self, chunks: AsyncIterator[bytes], max_bytes: int) -> tuple[Path, int]:
        """Stream `chunks` into a new temporary file of at most `max_bytes` (`TooLarge` past
        it, the file removed); the file and its size. Nothing is visible under a key until
        `keep`."""
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        descriptor, name = await asyncio.to_thread(
            tempfile.mkstemp, prefix=".receiving-", dir=self.root
        )
        partial = Path(name)
        size = 0
        try:
            with os.fdopen(descriptor, "wb") as output:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge()
                    await asyncio.to_thread(output.write, chunk)
        except BaseException:
            await self.discard(partial)
            raise
        return partial, size

    async def keep(self, partial: Path, key: str) -> None:
        """Move a received file under `key` (atomic on the same file system)."""
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(os.replace, partial, path)

    async def discard(self, partial: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(partial.unlink)

    async def stat(self, key: str) -> Stored | None:
        try:
            found = await asyncio.to_thread(self._path(key).stat)
        except FileNotFoundError:
            return None
        return Stored(found.st_size, None)

    async def fetch_to(self, key: str, destination: Path) -> None:
        await asyncio.to_thread(shutil.copyfile, self._path(key), destination)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)


class S3Storage:
    serves_puts = False

    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self._client = _s3_client(settings, settings.s3_endpoint_url)
        # Presigning is local computation; the URL names the endpoint clients reach.
        self._signer = (
            _s3_client(settings, settings.s3_public_endpoint_url)
            if settings.s3_public_endpoint_url
            else self._client
        )

    def put_url(self, ticket: Ticket) -> str | None:
        url: str = self._signer.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": ticket.key, "ContentType": ticket.content_type},
            ExpiresIn=max(1, ticket.expires_at - int(time.time())),
            HttpMethod="PUT",
        )
        return url

    async def stat(self, key: str) -> Stored | None:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return Stored(int(head["ContentLength"]), head.get("ContentType"))

    async def fetch_to(self, key: str, destination: Path) -> None:
        await asyncio.to_thread(self._client.download_file, self.bucket, key, str(destination))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)


def _s3_client(settings: Settings, endpoint_url: str | None) -> Any:
    # Imported here: a service on the disk backend never loads boto3 (tens of MB).
    import boto3
    from botocore.client import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=(
            settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None
        ),
        aws_secret_access_key=(
            settings.s3_secret_access_key.get_secret_value()
            if settings.s3_secret_access_key
            else None
        ),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def open_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage(settings)
    return DiskStorage(settings.uploads_dir)
