"""The floor: a bare FastAPI JSON endpoint served exactly as `scripe-api serve` serves the API.

Same settings (from the same SCRIPE_* environment), same logging setup, same socket binding and
the same `serve_until_stopped` → `uvicorn.Config(app, lifespan="on", log_config=None)`, so the
loop and HTTP implementations, access logging and flags are identical; one process.
`python -m bench.floor_app --port N` serves `GET /floor` (and `/livez` for readiness).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastapi import FastAPI

from scripe_api.cli.connection import load_settings
from scripe_api.cli.output import say
from scripe_api.cli.server import bind_socket, public_url, run_service, serve_until_stopped
from scripe_api.core.logging import configure_logging


def create_floor_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/floor")
    async def floor() -> dict[str, object]:
        return {"status": "ok", "service": "floor", "version": 1}

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_app")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    sock = bind_socket(host, port)
    app = create_floor_app()
    run_service(
        serve_until_stopped(app, sock, on_started=lambda: say(f"Serving on {public_url(sock)}."))
    )
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
