"""`scripe-api serve --workers N`: whichever process answers a scrape reports every process."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from scripe_api.settings import Settings
from tests.assertions import eventually
from tests.cli.conftest import free_port, operator_environment
from tests.observability.test_logs import running

REQUESTS = 12


def health_requests(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "scripe_http_requests_total" and sample.labels["route"] == "/v1/health"
    )


async def get(url: str) -> httpx.Response | None:
    # A new connection per request, so the kernel hands them to either process.
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.get(url)
    except httpx.TransportError:
        return None


async def test_every_scrape_counts_the_requests_of_every_api_process(
    base_settings: Settings, migrated: None, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**operator_environment(base_settings), "SCRIPE_ENV": "production"}
    command = ("serve", "--port", str(port), "--workers", "2")
    async with running(command, "Serving on", env, tmp_path):
        ready = await eventually(
            lambda: get(f"{base}/livez"),
            lambda response: response is not None and response.status_code == 200,
            within=30,
        )
        assert ready is not None
        for _ in range(REQUESTS):
            response = await get(f"{base}/v1/health")
            assert response is not None
        for _ in range(4):
            scrape = await get(f"{base}/metrics")
            assert scrape is not None
            assert scrape.status_code == 200
            assert health_requests(scrape.text) == REQUESTS
