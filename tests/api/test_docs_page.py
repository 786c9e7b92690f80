"""`/docs` works without the internet: every asset the page loads is served by the API."""

from __future__ import annotations

import re

import httpx

from tests.assertions import assert_error


async def test_docs_page_loads_only_assets_the_api_serves(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", html)  # the document Swagger UI loads
    assert urls, html
    assert not [url for url in urls if "//" in url], "the page reaches another host"
    assert "/openapi.json" in urls
    kinds = {
        ".js": "javascript",
        ".css": "text/css",
        ".png": "image/png",
        ".json": "application/json",
    }
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        kind = next(kind for suffix, kind in kinds.items() if url.endswith(suffix))
        assert kind in response.headers["content-type"], (url, response.headers)
    # Our document is OpenAPI 3.1: the bundle must be a Swagger UI that reads 3.1 (5.x).
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
    assert "isOAS31" in bundle


async def test_unknown_docs_asset_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/docs/assets/nope.js"), 404, "not_found")
