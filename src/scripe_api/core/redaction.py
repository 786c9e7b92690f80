"""What never leaves the service: the one pattern of a scripe API key, for log lines and bodies."""

from __future__ import annotations

import re

# Any scripe API key, live or test, whole or truncated. Also percent-encoded, as uvicorn's
# access line shows a raw query string (`scripe%5Fsk%5F…`).
API_KEY_PATTERN = r"scripe(?:_|%5F)sk(?:_|%5F)[A-Za-z0-9_%]*"
API_KEY_TEXT = re.compile(API_KEY_PATTERN, re.IGNORECASE)
API_KEY_BYTES = re.compile(API_KEY_PATTERN.encode(), re.IGNORECASE)
