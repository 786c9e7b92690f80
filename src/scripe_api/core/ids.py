"""Prefixed ULIDs: `job_01J9ZA…`. Time-ordered, 26 Crockford base32 characters after the prefix.

Ids are opaque on input: nothing validates their shape; an unknown id is simply not found.

Every request and job makes a few, so the encoding is done by the C base32 codec: a ULID is a
130-bit big-endian number (2 leading zero bits); shifted left by 6 into 17 bytes, RFC 4648's
5-bit groups fall exactly on ULID's, and the alphabet is swapped for Crockford's.
"""

from __future__ import annotations

import base64
import os
import random
import time
from typing import Literal

Prefix = Literal[
    "job", "proj", "post", "note", "kb", "src", "key", "req", "whe", "org", "kbc", "upl", "slot"
]

_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


def ulid_of(value: int) -> str:
    """The 26-character ULID of a 128-bit value."""
    return base64.b32encode((value << 6).to_bytes(17, "big"))[:26].translate(_CROCKFORD).decode()


def new_ulid() -> str:
    """Milliseconds since the epoch (48 bits), then 80 random bits."""
    return ulid_of((time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big"))


def new_id(prefix: Prefix) -> str:
    return f"{prefix}_{new_ulid()}"


def new_request_id() -> str:
    """A request's id (`req_…`): a ULID whose random part comes from the process's PRNG, not
    the system's (no system call per request). It names a request in logs; it guards nothing.
    The `random` module reseeds itself in a forked child, so processes do not repeat ids."""
    return f"req_{ulid_of((time.time_ns() // 1_000_000) << 80 | random.getrandbits(80))}"
