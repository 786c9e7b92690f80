"""docs/api-guide.md against the OpenAPI document and the service's errors: every operation and
error code the guide names exists, and every one that exists is in the guide."""

from __future__ import annotations

import json
import re
from typing import Any

from scripe_api.api.openapi.errors import all_errors
from scripe_api.db.migrations import project_root
from scripe_api.openapi_export import render_openapi

GUIDE = project_root() / "docs" / "api-guide.md"
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)`")
TABLE_OPERATION = re.compile(
    r"^\| `(GET|POST|PUT|PATCH|DELETE) (/\S+)` \| `(\w+)` \|", re.MULTILINE
)
ERROR_ROW = re.compile(r"^\| (\d{3}) \| `(\w+)` \|", re.MULTILINE)


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(render_openapi())
    return spec


def _documented_operations() -> dict[tuple[str, str], str]:
    return {
        (method.upper(), path): operation["operationId"]
        for path, item in _spec()["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    }


def test_the_guide_names_every_operation_and_only_those() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    documented = _documented_operations()
    named = set(OPERATION.findall(guide))
    assert named - set(documented) == set(), "the guide names operations that do not exist"
    assert set(documented) - named == set(), "the guide leaves out these operations"
    table = {
        (method, path): operation for method, path, operation in TABLE_OPERATION.findall(guide)
    }
    assert table == documented, "the operations table differs from the OpenAPI document"


def test_the_guide_lists_every_error_code_with_its_status() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    listed = {code: int(status) for status, code in ERROR_ROW.findall(guide)}
    raised = {code: error.status_code for code, error in all_errors().items()}
    assert listed == raised, "the guide's error table differs from the errors the service answers"
    in_openapi = set(_spec()["components"]["examples"])
    assert in_openapi <= set(listed), "OpenAPI documents codes the guide does not list"


def test_the_guide_links_only_files_of_the_repository() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", guide):
        assert not target.startswith(("http:", "https:")), target
        assert (GUIDE.parent / target).resolve().is_file(), target
