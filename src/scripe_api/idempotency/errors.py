from __future__ import annotations

from scripe_api.core.errors import AppError


class IdempotencyKeyConflict(AppError):
    code = "idempotency_key_conflict"
    status_code = 409
    default_message = (
        "This Idempotency-Key was already used with a different request (body or path) "
        "within the last 24 hours; use a new key."
    )


class IdempotencyKeyInUse(AppError):
    code = "idempotency_key_in_use"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "1"})
