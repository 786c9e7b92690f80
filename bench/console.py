"""Progress lines of a benchmark run, on stderr so stdout keeps only the table."""

from __future__ import annotations

import sys
import time


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
