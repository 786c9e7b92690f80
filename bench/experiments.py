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
from typing import Any


def _uvloop() -> None:
    """Run the server's asyncio.run on uvloop (what uvicorn picks with loop="auto")."""
    import uvloop

    uvloop.install()


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
