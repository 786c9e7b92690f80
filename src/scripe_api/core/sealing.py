"""Secrets at rest: AES-GCM under a key derived from the server secret (`SCRIPE_SECRET_KEYS`).

A sealed value is `<server secret version>.<base64url(nonce + ciphertext)>`: the version that
sealed it opens it, so rotating the server secret keeps older values readable for as long as
their version stays configured. Each use has its own `context` (a different derived key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class Unreadable(Exception):
    """The value's server-secret version is no longer configured, or it was altered."""


class Sealer:
    def __init__(self, server_secrets: Sequence[tuple[int, bytes]], context: bytes) -> None:
        """`server_secrets`: (version, secret), current first."""
        self._keys = {
            version: AESGCM(hmac.new(secret, context, hashlib.sha256).digest())
            for version, secret in server_secrets
        }
        self._current = server_secrets[0][0]

    def seal(self, plaintext: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        version = str(self._current)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, version.encode())
        return f"{version}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def unseal(self, value: str) -> bytes:
        version, _, payload = value.partition(".")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return self._keys[int(version)].decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], version.encode()
            )
        except (KeyError, ValueError, InvalidTag) as error:
            raise Unreadable(f"server secret version {version!r}") from error
