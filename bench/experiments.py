"""Candidate optimisations applied at process start, so they can be measured A/B against the
code as it is without editing src/: `python -m bench.experiments NAME[,NAME…] -- serve|worker`.

`src=/path/to/dir` runs the scripe_api package found in that folder instead (the code before a
change, copied there). Each experiment patches the service before its modules are imported
(where a reference is taken at import time), then runs the `scripe-api` command line. "none"
changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any


def _uvloop() -> None:
    """Run the server's asyncio.run on uvloop (what uvicorn picks with loop="auto")."""
    import uvloop

    uvloop.install()


def _fast_timestamp() -> None:
    """format_timestamp without strftime (same output for years ≥ 1000)."""
    from scripe_api.core import clock

    original = clock.format_timestamp

    def format_timestamp(value: datetime) -> str:
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        if value.year < 1000:
            return original(value)
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"

    clock.format_timestamp = format_timestamp


def _sync_services() -> None:
    """`get_services` as a plain function again (FastAPI runs it in a worker thread): the code
    before the change, to measure it."""
    from scripe_api.api import dependencies
    from scripe_api.api.state import Services

    def get_services(request: Any) -> Services:
        services: Services = request.app.state.services
        return services

    depends = getattr(dependencies.ServicesDep, "__metadata__")[0]  # noqa: B009
    object.__setattr__(depends, "dependency", get_services)


def _light_ping() -> None:
    """pool_pre_ping as one round trip (`SELECT 1`) instead of three (BEGIN; `;`; ROLLBACK)."""
    from sqlalchemy.dialects.postgresql import asyncpg as dialect

    async def _async_ping(self: Any) -> None:
        # Simple query protocol: no prepared statement, so PgBouncer (transaction mode) is fine.
        await self._connection.execute("SELECT 1")

    setattr(dialect.AsyncAdapt_asyncpg_connection, "_async_ping", _async_ping)  # noqa: B010


def _no_pre_ping() -> None:
    """No pool_pre_ping at all (a connection broken by a Postgres restart fails one request)."""
    from scripe_api.db import session

    original = getattr(session, "create_async_engine")  # noqa: B009

    def create_async_engine(*args: Any, **kwargs: Any) -> Any:
        kwargs["pool_pre_ping"] = False
        return original(*args, **kwargs)

    setattr(session, "create_async_engine", create_async_engine)  # noqa: B010


def _no_access_log() -> None:
    """uvicorn's access log off (one JSON log line per request)."""
    import uvicorn

    original = uvicorn.Config.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["access_log"] = False
        original(self, *args, **kwargs)

    uvicorn.Config.__init__ = init  # type: ignore[method-assign]


EXPERIMENTS: dict[str, Callable[[], None]] = {
    "none": lambda: None,
    "uvloop": _uvloop,
    "fast_timestamp": _fast_timestamp,
    "sync_services": _sync_services,
    "light_ping": _light_ping,
    "no_pre_ping": _no_pre_ping,
    "no_access_log": _no_access_log,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[1] != "--":
        print(
            f"usage: python -m bench.experiments {','.join(EXPERIMENTS)} -- ARGS", file=sys.stderr
        )
        return 2
    for name in filter(None, args[0].split(",")):
        if name.startswith("src="):
            # Another copy of the scripe_api package (e.g. the code before a change) wins over
            # the editable install.
            sys.path.insert(0, name.removeprefix("src="))
            continue
        EXPERIMENTS[name]()
    from scripe_api.cli.app import main as cli

    cli(args[2:])  # exits
    return 0


if __name__ == "__main__":
    sys.exit(main())
