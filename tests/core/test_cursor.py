"""The signed keyset cursor (§1.6): opaque to clients, bound to its list, rotation-proof."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from scripe_api.core.errors import BadCursor, BadPagination
from scripe_api.core.pagination import CursorCodec, Position, clamp_limit, filter_hash

OLD = b"old-secret-0123456789abcdefghijklmnopqrstuvwxyz"
NEW = b"new-secret-0123456789abcdefghijklmnopqrstuvwxyz"
POSITION = Position(datetime(2026, 5, 15, 8, 21, 0, 123000, tzinfo=UTC), "proj_01J9ZA7Q1K6W4X2Y")
HASH = filter_hash("projects", {})


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(payload: bytes, secret: bytes = OLD, version: int = 1) -> str:
    """A cursor with a valid signature over an arbitrary payload (the documented format)."""
    text = b64(payload)
    mac = hmac.new(secret, b"cursor:" + text.encode(), hashlib.sha256).digest()
    return f"{text}.{version}.{b64(mac)[:22]}"


def test_round_trip_keeps_the_exact_position() -> None:
    codec = CursorCodec([(1, OLD)])
    assert codec.decode(codec.encode(POSITION, HASH), HASH) == POSITION


def test_cursor_is_url_safe() -> None:
    cursor = CursorCodec([(1, OLD)]).encode(POSITION, HASH)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_cursor_of_other_filters_is_refused() -> None:
    codec = CursorCodec([(1, OLD)])
    cursor = codec.encode(POSITION, filter_hash("posts", {"status": ["DRAFT"]}))
    with pytest.raises(BadCursor):
        codec.decode(cursor, filter_hash("posts", {"status": ["PUBLISHED"]}))
    with pytest.raises(BadCursor):
        codec.decode(cursor, filter_hash("jobs", {"status": ["DRAFT"]}))


def test_filter_hash_ignores_key_order_only() -> None:
    assert filter_hash("posts", {"a": 1, "b": 2}) == filter_hash("posts", {"b": 2, "a": 1})
    assert filter_hash("posts", {"a": 1}) != filter_hash("posts", {"a": 2})
    assert filter_hash("posts", {}) != filter_hash("notes", {})


def test_cursor_signed_with_another_secret_is_refused() -> None:
    cursor = CursorCodec([(1, NEW)]).encode(POSITION, HASH)
    with pytest.raises(BadCursor):
        CursorCodec([(1, OLD)]).decode(cursor, HASH)


def test_rotation_keeps_old_cursors_and_signs_new_ones_with_the_current_secret() -> None:
    old_cursor = CursorCodec([(1, OLD)]).encode(POSITION, HASH)
    rotated = CursorCodec([(2, NEW), (1, OLD)])
    assert rotated.decode(old_cursor, HASH) == POSITION
    new_cursor = rotated.encode(POSITION, HASH)
    assert new_cursor.split(".")[1] == "2"
    assert CursorCodec([(2, NEW)]).decode(new_cursor, HASH) == POSITION
    with pytest.raises(BadCursor):
        CursorCodec([(2, NEW)]).decode(old_cursor, HASH)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"text"',
        b"{}",
        b'{"c": "soon", "i": "x", "f": "y"}',
        b'{"c": 1e400, "i": "x", "f": "y"}',
        b'{"c": 99999999999999999999, "i": "x", "f": "y"}',
    ],
)
def test_signed_but_unreadable_payload_is_refused(payload: bytes) -> None:
    with pytest.raises(BadCursor):
        CursorCodec([(1, OLD)]).decode(signed(payload), HASH)


def test_documented_format_decodes() -> None:
    payload = json.dumps({"c": 1778833260123, "i": "proj_x", "f": HASH}).encode()
    position = CursorCodec([(1, OLD)]).decode(signed(payload), HASH)
    assert position == Position(datetime(2026, 5, 15, 8, 21, 0, 123000, tzinfo=UTC), "proj_x")


@pytest.mark.parametrize(
    ("requested", "effective"), [(None, 50), (1, 1), (200, 200), (201, 200), (1000, 200)]
)
def test_limit_default_and_clamp(requested: int | None, effective: int) -> None:
    assert clamp_limit(requested) == effective


@pytest.mark.parametrize("requested", [0, -1, 1001])
def test_limit_out_of_range(requested: int) -> None:
    with pytest.raises(BadPagination):
        clamp_limit(requested)
