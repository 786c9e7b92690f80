"""API key format and digests. A key is shown once; only HMAC-SHA-256(secret, key) is stored."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Literal

KeyMode = Literal["live", "test"]
KEY_PATTERN = re.compile(r"scripe_sk_(live|test)_[0-9a-f]{40}")

ALL_SCOPES = (
    "projects:read",
    "posts:read",
    "posts:write",
    "jobs:read",
    "jobs:write",
    "notes:read",
    "notes:write",
    "knowledge:write",
    "sources:read",
    "sources:write",
    "webhooks:manage",
)


def generate_key(mode: KeyMode) -> str:
    return f"scripe_sk_{mode}_{secrets.token_hex(20)}"


def is_well_formed(token: str) -> bool:
    return KEY_PATTERN.fullmatch(token) is not None


def digest(secret: bytes, token: str) -> bytes:
    # One-shot HMAC (OpenSSL's, in C): the same bytes as hmac.new(…).digest(), without the
    # Python-level object (every authenticated request computes one).
    return hmac.digest(secret, token.encode(), "sha256")


def hint(token: str) -> str:
    return token[-4:]
