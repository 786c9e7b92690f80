"""What never leaves the service: the credentials clients send, for log lines and bodies.

`API_KEY_TEXT`/`API_KEY_BYTES` match every credential a client may send or paste: API keys,
and the event-stream tokens a browser's EventSource carries in its URL (`?token=`).
"""

from __future__ import annotations

import re

# Any scripe API key, live or test, whole or truncated. Also percent-encoded, as uvicorn's
# access line shows a raw query string (`scripe%5Fsk%5F…`).
_API_KEY = r"scripe(?:_|%5F)sk(?:_|%5F)[A-Za-z0-9_%]*"
# An event-stream token (`est_<version>.<expiry>.…`, jobs.stream_tokens), whole or truncated,
# plain or percent-encoded; and whatever a URL carries as its `token` parameter, even mangled.
_STREAM_CREDENTIAL = r"\best(?:_|%5F)[0-9]+(?:\.|%2E)[A-Za-z0-9_.%-]*"
_URL_CREDENTIAL = r"(?<=[?&]token=)[^&\s\"'#\\]+"
API_KEY_PATTERN = f"{_API_KEY}|{_STREAM_CREDENTIAL}|{_URL_CREDENTIAL}"
API_KEY_TEXT = re.compile(API_KEY_PATTERN, re.IGNORECASE)
API_KEY_BYTES = re.compile(API_KEY_PATTERN.encode(), re.IGNORECASE)
