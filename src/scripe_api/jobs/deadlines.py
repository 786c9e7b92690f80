"""`Cancel-After` (EVENTS.md §3): how long a submitted job may wait to start.

`30s`, `5m`, `2h` — from one second to 24 hours. A job not started by then is cancelled with
`deadline_exceeded`, refunded and never run (the claim refuses it, the sweep cancels it); one
already running finishes.
"""

from __future__ import annotations

import re

from scripe_api.core.errors import InvalidRequest

HEADER = "Cancel-After"
MIN_SECONDS = 1
MAX_SECONDS = 24 * 3600
_VALUE = re.compile(r"^\s*(\d{1,6})([smh])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def cancel_after_seconds(value: str | None) -> int | None:
    """The deadline a `Cancel-After` value asks for, in seconds; None without one. A value
    that is not `<n>s`, `<n>m` or `<n>h` within 1 s … 24 h is a 400."""
    if value is None:
        return None
    match = _VALUE.match(value)
    seconds = (
        int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()] if match is not None else 0
    )
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise InvalidRequest(
            f"{HEADER} must be a duration such as 30s, 5m or 2h, from 1s to 24h.",
            details={"field": HEADER},
        )
    return seconds
