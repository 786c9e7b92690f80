"""The canonical JSON form a request body is fingerprinted by (API.md §3).

Keys sorted recursively, no whitespace, UTF-8 without escaping. Values are not normalised:
`1` and `1.0` stay different requests.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
