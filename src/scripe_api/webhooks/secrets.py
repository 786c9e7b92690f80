"""Webhook signing secrets: made, kept encrypted, and used to sign deliveries.

A secret is `whsec_` + base64 of 24 random bytes, as Standard Webhooks writes them; it is shown
only on create and rotate. At rest it is sealed with the server secret (`core.sealing`).

Signatures follow Standard Webhooks: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
keyed by the secret's decoded bytes; several secrets (a rotation's overlap) give several
space-separated signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from scripe_api.core.sealing import Sealer
from scripe_api.settings import Settings

PREFIX = "whsec_"
_SECRET_BYTES = 24
_CONTEXT = b"scripe-webhook-secrets"


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(_SECRET_BYTES)).decode()


def last4(secret: str) -> str:
    return secret[-4:]


def sealer(settings: Settings) -> Sealer:
    return Sealer(settings.secrets_newest_first(), _CONTEXT)


def encrypt(settings: Settings, secret: str) -> str:
    return sealer(settings).seal(secret.encode())


def sign(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(
            hmac.new(base64.b64decode(secret.removeprefix(PREFIX)), signed, hashlib.sha256).digest()
        ).decode()
        for secret in secrets
    )
