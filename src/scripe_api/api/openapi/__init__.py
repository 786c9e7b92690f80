"""The published contract: what FastAPI generates, completed with what every operation shares.

Routes declare only what is theirs (`error_responses(NotFound, …)`, links between operations);
`finish_openapi` adds what follows from an operation's shape, so no operation can forget it:
- every `/v1` operation: the `Scripe-Api-Version` request header; `X-Request-Id` and
  `Scripe-Api-Version` on every response; `400 version_unsupported`/`invalid_request`,
  `500 internal_error`, `503 service_unavailable` (+ `Retry-After`);
- with a bearer key: 401, 403, `429 rate_limited` (+ `Retry-After`), the `X-RateLimit-*` headers;
- with a body: `413 payload_too_large`; with an `Idempotency-Key`: the two idempotency 409s;
  with `limit`/`cursor`: `bad_pagination`, `bad_cursor`.
It also names the enums SDK generators should turn into types (JobType, JobStatus, …) and drops
the titles and `null` branches pydantic adds to optional query parameters (a query string cannot
carry a null).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scripe_api.api.openapi.errors import (
    JSON,
    components_examples,
    drop_framework_validation_error,
    error_responses,
    merge_errors,
    operation_errors,
)
from scripe_api.api.openapi.headers import add_headers, components_headers, version_parameter
from scripe_api.api.openapi.links import (
    CANCELLED_JOB_LINKS,
    JOB_LINKS,
    JOB_RESULT_LINKS,
    NOTE_LINKS,
    POST_LINKS,
    PROJECT_LINKS,
    WEBHOOK_ENDPOINT_LINKS,
)
from scripe_api.api.openapi.names import (
    drop_property_titles,
    name_enums,
    named_enum_schemas,
    rename_generics,
    simplify_query_parameter,
)
from scripe_api.api.schemas import ErrorEnvelope

__all__ = [
    "CANCELLED_JOB_LINKS",
    "JOB_LINKS",
    "JOB_RESULT_LINKS",
    "NOTE_LINKS",
    "POST_LINKS",
    "PROJECT_LINKS",
    "WEBHOOK_ENDPOINT_LINKS",
    "error_responses",
    "finish_openapi",
    "install_openapi",
]


def finish_openapi(schema: dict[str, Any], accepted_versions: Iterable[str]) -> dict[str, Any]:
    """Complete FastAPI's schema with what every `/v1` operation shares (module docstring)."""
    accepted = list(accepted_versions)
    version = version_parameter(accepted)
    # What a client pins in Scripe-Api-Version (info.version is the server's release).
    schema["info"]["x-api-versions"] = accepted
    codes: set[str] = set()
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                simplify_query_parameter(parameter)
            if not path.startswith("/v1/"):
                continue
            operation["parameters"] = [*operation.get("parameters", []), version]
            drop_framework_validation_error(operation)
            merge_errors(operation, operation_errors(operation))
            operation["responses"] = dict(sorted(operation["responses"].items()))
            add_headers(operation)
            for response in operation["responses"].values():
                codes.update(response.get("content", {}).get(JSON, {}).get("examples", {}))
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, model_schema in envelope.pop("$defs", {}).items():
        schemas.setdefault(name, model_schema)
    schemas.setdefault("ErrorEnvelope", envelope)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    drop_property_titles(schemas)
    schema["paths"] = name_enums(schema.get("paths", {}))
    components["schemas"] = name_enums(schemas)
    components["schemas"].update(named_enum_schemas())
    components["schemas"] = dict(sorted(components["schemas"].items()))
    components["headers"] = components_headers()
    components["examples"] = components_examples(codes)
    return rename_generics(schema)


def install_openapi(app: FastAPI, accepted_versions: Iterable[str]) -> None:
    """Serve (and export) the completed schema; built once, on first request."""
    versions = tuple(accepted_versions)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            app.openapi_schema = finish_openapi(generated, versions)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
