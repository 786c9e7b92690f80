"""The committed contract (`openapi/openapi.json`) is exactly what the app serves."""

from __future__ import annotations

import json
from typing import Any

import httpx

from scripe_api.db.migrations import project_root
from scripe_api.openapi_export import OPENAPI_PATH, render_openapi


def test_committed_openapi_matches_the_app() -> None:
    committed = project_root() / OPENAPI_PATH
    assert committed.is_file(), f"{OPENAPI_PATH} is missing: run `make openapi` and commit it"
    assert committed.read_text(encoding="utf-8") == render_openapi(), (
        f"{OPENAPI_PATH} is out of date with the app: run `make openapi` and commit the result"
    )


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for path in spec["paths"].values()
        for operation in path.values()
    }


def test_limit_is_documented_as_accepted_not_as_clamped() -> None:
    operation = _operations(json.loads(render_openapi()))["list_projects"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    schema = limit["schema"]
    bounds = schema.get("anyOf", [schema])[0]
    assert (bounds["minimum"], bounds["maximum"]) == (1, 1000)
    assert "200" in limit["description"]


def _id_schemas(node: Any) -> list[tuple[str, Any]]:
    """Every schema of an `id`/`…Id` property or parameter, anywhere in the spec."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        if "in" in node and "schema" in node:
            name = str(node.get("name", ""))
            if name == "id" or name.endswith("Id"):
                found.append((name, node["schema"]))
        for key, value in node.get("properties", {}).items():
            if key == "id" or key.endswith("Id"):
                found.append((key, value))
        for value in node.values():
            found.extend(_id_schemas(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_id_schemas(value))
    return found


def test_ids_are_never_pattern_validated() -> None:
    ids = _id_schemas(json.loads(render_openapi()))
    assert any(name == "projectId" for name, _ in ids)
    for name, schema in ids:
        assert "pattern" not in json.dumps(schema), name


async def test_served_spec_is_the_committed_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(render_openapi())
