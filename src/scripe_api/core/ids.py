"""Prefixed ULIDs: `job_01J9ZA…`. Time-ordered, 26 Crockford base32 characters after the prefix.

Ids are opaque on input: nothing validates their shape; an unknown id is simply not found.
"""

from __future__ import annotations

from typing import Literal

from ulid import ULID

Prefix = Literal["job", "proj", "post", "note", "kb", "src", "key", "req", "whe", "org", "kbc"]


def new_id(prefix: Prefix) -> str:
    return f"{prefix}_{ULID()}"
