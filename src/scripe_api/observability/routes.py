"""The Prometheus scrape endpoint (at `settings.metrics_path`, outside /v1, never in OpenAPI).

No key and no rate limit: keep it off the public port and route only the scraper to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from scripe_api.api.dependencies import ServicesDep
from scripe_api.health.service import sample_queue_depth
from scripe_api.observability.metrics import (
    MULTIPROCESS_DIR_VARIABLE,
    REGISTRY,
    SHARED_METRICS_FLAG,
)


async def get_metrics(services: ServicesDep) -> Response:
    await sample_queue_depth(services.resources)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    # `serve --workers N` sets PROMETHEUS_MULTIPROC_DIR for its processes: whichever one answers
    # the scrape reports the sum over all of them, not its own share.
    if not (os.environ.get(SHARED_METRICS_FLAG) and os.environ.get(MULTIPROCESS_DIR_VARIABLE)):
        return REGISTRY
    registry = CollectorRegistry()
    collect_all: Callable[[CollectorRegistry], object] = MultiProcessCollector
    collect_all(registry)
    return registry


def include_metrics(app: FastAPI, path: str | None) -> None:
    if path is not None:
        app.add_api_route(path, get_metrics, methods=["GET"], include_in_schema=False)
