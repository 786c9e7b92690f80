"""Lua scripts on Redis, sent by their SHA: the text crosses the wire only when Redis does not
know it yet (after a restart or a flush)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import NoScriptError


def script_sha(script: str) -> str:
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()


async def run_script(redis: Redis, script: str, sha: str, numkeys: int, *args: Any) -> object:
    """EVALSHA, falling back to EVAL once when the script is unknown."""
    try:
        return await cast("Awaitable[object]", redis.evalsha(sha, numkeys, *args))
    except NoScriptError:
        return await cast("Awaitable[object]", redis.eval(script, numkeys, *args))
