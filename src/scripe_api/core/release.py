"""The server's release: the installed package's version (what SDK generators stamp on a
client, and what our outbound requests name in their User-Agent)."""

from __future__ import annotations

import functools
import importlib.metadata


@functools.cache
def release() -> str:
    try:
        return importlib.metadata.version("scripe-api")
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"
