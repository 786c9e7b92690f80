"""Every operation of the committed OpenAPI document, so a new endpoint is covered by itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.workers_support import REPO_ROOT

OPENAPI = Path(REPO_ROOT) / "openapi" / "openapi.json"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    has_body: bool
    is_public: bool

    def path(self, value: str = "x") -> str:
        path = self.template
        for name in self.path_params:
            path = path.replace("{" + name + "}", value)
        return path

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


def operations() -> list[Operation]:
    document: dict[str, Any] = json.loads(OPENAPI.read_text())
    found = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = operation.get("parameters", [])
            found.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    path_params=tuple(p["name"] for p in parameters if p["in"] == "path"),
                    query_params=tuple(p["name"] for p in parameters if p["in"] == "query"),
                    has_body="requestBody" in operation,
                    # Operations that need no key declare no security requirement.
                    is_public=not operation.get("security"),
                )
            )
    return found
