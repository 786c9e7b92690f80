from __future__ import annotations

from scripe_api.core.errors import AppError


class SpendCapExceeded(AppError):
    code = "spend_cap_exceeded"
    status_code = 402
    default_message = "Daily AI spend cap reached. Resets at 00:00 UTC."
