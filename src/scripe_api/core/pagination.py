"""Opaque, signed keyset cursors on `(createdAt DESC, id DESC)`.

Format (API.md §1.6): base64url(compact JSON {"c": createdAt epoch ms, "i": id, "f": filter
hash}) + "." + secret version + "." + base64url(HMAC-SHA-256)[:22]. The filter hash binds a
cursor to its list and filters (not to `limit`: page size may change mid-loop); the HMAC makes a
tampered or foreign cursor a `bad_cursor` instead of wrong data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from scripe_api.core.clock import from_epoch_ms, to_epoch_ms
from scripe_api.core.errors import BadCursor, BadPagination

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ACCEPTED_LIMIT = 1000
_SIGNATURE_CHARS = 22


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: Position | None
    filter_hash: str


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_ACCEPTED_LIMIT:
        raise BadPagination()
    return min(limit, MAX_LIMIT)


def filter_hash(list_name: str, filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"list": list_name, "filters": filters}, sort_keys=True, separators=(",", ":"), default=str
    )
    return _b64(hashlib.sha256(canonical.encode()).digest()[:9])


class CursorCodec:
    def __init__(self, secrets_newest_first: Sequence[tuple[int, bytes]]) -> None:
        self._secrets = dict(secrets_newest_first)
        self._current_version = secrets_newest_first[0][0]

    def encode(self, position: Position, filter_hash_value: str) -> str:
        payload = _b64(
            json.dumps(
                {"c": to_epoch_ms(position.created_at), "i": position.id, "f": filter_hash_value},
                separators=(",", ":"),
            ).encode()
        )
        version = self._current_version
        return f"{payload}.{version}.{self._sign(version, payload)}"

    def decode(self, cursor: str, expected_filter_hash: str) -> Position:
        try:
            payload, version_text, signature = cursor.split(".")
            version = int(version_text)
        except ValueError:
            raise BadCursor() from None
        if version not in self._secrets or not hmac.compare_digest(
            signature.encode(), self._sign(version, payload).encode()
        ):
            raise BadCursor()
        try:
            data = json.loads(_unb64(payload))
            position = Position(created_at=from_epoch_ms(int(data["c"])), id=str(data["i"]))
            cursor_filters = data["f"]
        except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
            raise BadCursor() from None
        if cursor_filters != expected_filter_hash:
            raise BadCursor(
                "The cursor belongs to another list or was issued for different filters."
            )
        return position

    def page_request(
        self,
        limit: int | None,
        cursor: str | None,
        list_name: str,
        workspace_id: str,
        filters: Mapping[str, Any],
    ) -> PageRequest:
        """Parse `limit` and `cursor` for one list of one workspace: a cursor issued to another
        workspace, list or filter set is a `bad_cursor`."""
        hashed = filter_hash(list_name, {"workspace": workspace_id, **filters})
        return PageRequest(
            limit=clamp_limit(limit),
            after=self.decode(cursor, hashed) if cursor else None,
            filter_hash=hashed,
        )

    def _sign(self, version: int, payload: str) -> str:
        mac = hmac.new(self._secrets[version], b"cursor:" + payload.encode(), hashlib.sha256)
        return _b64(mac.digest())[:_SIGNATURE_CHARS]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
