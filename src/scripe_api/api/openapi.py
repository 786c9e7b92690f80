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

import re
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scripe_api.api.schemas import ErrorEnvelope
from scripe_api.core.errors import (
    DOCS_URL,
    AppError,
    BadCursor,
    BadPagination,
    InternalError,
    InvalidRequest,
    InvalidToken,
    KeyExpired,
    KeyRevoked,
    PayloadTooLarge,
    PlanNotEligible,
    RateLimited,
    ScopeMissing,
    ServiceUnavailable,
    Unauthenticated,
    VersionUnsupported,
)
from scripe_api.idempotency.errors import IdempotencyKeyConflict, IdempotencyKeyInUse
from scripe_api.jobs.schemas import JobStatus, JobType
from scripe_api.posts.schemas import ContentType, PostStatus
from scripe_api.projects.schemas import ProjectStatus, ProjectType

JSON = "application/json"
ERROR_REF = "#/components/schemas/ErrorEnvelope"
EXAMPLE_REQUEST_ID = "req_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"

COMMON_ERRORS: tuple[type[AppError], ...] = (
    InvalidRequest,
    VersionUnsupported,
    InternalError,
    ServiceUnavailable,
)
AUTH_ERRORS: tuple[type[AppError], ...] = (
    Unauthenticated,
    InvalidToken,
    KeyRevoked,
    KeyExpired,
    PlanNotEligible,
    ScopeMissing,
    RateLimited,
)
BODY_ERRORS: tuple[type[AppError], ...] = (PayloadTooLarge,)
IDEMPOTENCY_ERRORS: tuple[type[AppError], ...] = (IdempotencyKeyConflict, IdempotencyKeyInUse)
PAGINATION_ERRORS: tuple[type[AppError], ...] = (BadPagination, BadCursor)

# Enums that SDK generators should see as named types rather than anonymous string sets.
NAMED_ENUMS: Mapping[str, tuple[str, ...]] = {
    "JobType": get_args(JobType),
    "JobStatus": get_args(JobStatus),
    "PostStatus": get_args(PostStatus),
    "ContentType": get_args(ContentType),
    "ProjectType": get_args(ProjectType),
    "ProjectStatus": get_args(ProjectStatus),
}

_ENUM_DESCRIPTIONS = {
    "JobType": "What a job does. Every type is listed, including those no v1 endpoint submits yet.",
    "JobStatus": "QUEUED → RUNNING → DONE | FAILED; QUEUED → CANCELLED.",
    "PostStatus": "Where a post stands in its editorial life.",
    "ContentType": "The kind of LinkedIn post.",
    "ProjectType": "Whose voice a project writes in.",
    "ProjectStatus": "Only ACTIVE projects can generate posts.",
}

_ALWAYS_HEADERS: dict[str, Any] = {
    "X-Request-Id": {
        "description": "This request's id (`req_…`); error bodies repeat it as "
        "`error.request_id`. Quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "example": EXAMPLE_REQUEST_ID},
    },
    "Scripe-Api-Version": {
        "description": "The API version that served the request.",
        "required": True,
        "schema": {"type": "string", "example": "2026-08-01"},
    },
}
_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per 60-second window in this operation's bucket "
        "(read, write or ai) for the workspace.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until a slot in the window frees up.",
        "schema": {"type": "integer"},
    },
}
_RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}
# Statuses whose every response carries Retry-After.
_RETRY_AFTER_REQUIRED = {"429", "503"}


def _example(error: type[AppError]) -> dict[str, Any]:
    # One shared example per code (components.examples), referenced from every operation.
    return {"$ref": f"#/components/examples/{error.code}"}


def _all_errors(root: type[AppError] = AppError) -> dict[str, type[AppError]]:
    found = {root.code: root}
    for subclass in root.__subclasses__():
        found.update(_all_errors(subclass))
    return found


def _components_examples(codes: Iterable[str]) -> dict[str, Any]:
    errors = _all_errors()
    examples: dict[str, Any] = {}
    for code in sorted(codes):
        error = errors[code]
        body = {
            "code": code,
            "message": error.default_message,
            "request_id": EXAMPLE_REQUEST_ID,
            "docs_url": DOCS_URL.format(code=code),
        }
        examples[code] = {"summary": f"{error.status_code} {code}", "value": {"error": body}}
    return examples


def _describe(codes: Iterable[str]) -> str:
    return "Error envelope; `error.code` is one of " + ", ".join(f"`{c}`" for c in codes) + "."


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """The responses of `errors`, grouped by status, with one example envelope per code."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        response = responses.setdefault(
            error.status_code, {"model": ErrorEnvelope, "content": {JSON: {"examples": {}}}}
        )
        examples = response["content"][JSON]["examples"]
        examples[error.code] = _example(error)
        response["description"] = _describe(examples)
    return responses


def _merge_errors(operation: dict[str, Any], errors: Iterable[type[AppError]]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for error in errors:
        status = str(error.status_code)
        response = responses.get(status)
        if response is None:
            response = responses[status] = {
                "content": {JSON: {"schema": {"$ref": ERROR_REF}, "examples": {}}}
            }
        media = response.get("content", {}).get(JSON, {})
        if media.get("schema", {}).get("$ref") != ERROR_REF:
            # The operation answers this status with a body of its own (health's 503).
            continue
        examples = media.setdefault("examples", {})
        examples.setdefault(error.code, _example(error))
        response["description"] = _describe(examples)


def _drop_framework_validation_error(operation: dict[str, Any]) -> None:
    # FastAPI documents its own 422 body for validation failures; ours are the envelope's 400.
    response = operation.get("responses", {}).get("422", {})
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    if schema.get("$ref", "").endswith("/HTTPValidationError"):
        del operation["responses"]["422"]


def _operation_errors(operation: dict[str, Any]) -> list[type[AppError]]:
    parameters = {param["name"] for param in operation.get("parameters", [])}
    errors = list(COMMON_ERRORS)
    if operation.get("security"):
        errors += AUTH_ERRORS
    if "requestBody" in operation:
        errors += BODY_ERRORS
    if "Idempotency-Key" in parameters:
        errors += IDEMPOTENCY_ERRORS
    if {"limit", "cursor"} & parameters:
        errors += PAGINATION_ERRORS
    return errors


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _add_headers(operation: dict[str, Any]) -> None:
    authenticated = bool(operation.get("security"))
    names = {param["name"] for param in operation.get("parameters", [])}
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        wanted = [*_ALWAYS_HEADERS, *(_RATE_LIMIT_HEADERS if authenticated else ())]
        if status in _RETRY_AFTER_REQUIRED:
            wanted.append("Retry-After")
        elif status == "409" and "Idempotency-Key" in names:
            wanted.append("Retry-After-In-Use")
        for name in wanted:
            headers[name.removesuffix("-In-Use")] = _header_ref(name)


def _components_headers() -> dict[str, Any]:
    return {
        **_ALWAYS_HEADERS,
        **_RATE_LIMIT_HEADERS,
        "Retry-After": {**_RETRY_AFTER, "required": True},
        "Retry-After-In-Use": {
            **_RETRY_AFTER,
            "description": "Sent with `idempotency_key_in_use`: seconds to wait.",
        },
    }


_GENERIC_NAME = re.compile(r"^(?P<kind>List)?Envelope_(?P<item>\w+?)(?:Read)?_$")


def _rename_generics(schema: dict[str, Any]) -> dict[str, Any]:
    """`Envelope_JobRead_` → `JobEnvelope`, `ListEnvelope_JobRead_` → `JobList`: the names
    SDK generators turn into class names."""
    schemas = schema["components"]["schemas"]
    renames: dict[str, str] = {}
    for name in schemas:
        if match := _GENERIC_NAME.match(name):
            suffix = "List" if match["kind"] else "Envelope"
            renames[f"#/components/schemas/{name}"] = (
                f"#/components/schemas/{match['item']}{suffix}"
            )

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        renamed = {key: walk(value) for key, value in node.items()}
        if isinstance(ref, str) and ref in renames:
            renamed["$ref"] = renames[ref]
        return renamed

    result: dict[str, Any] = walk(schema)
    components = result["components"]["schemas"]
    for old, new in renames.items():
        old_name, new_name = old.rsplit("/", 1)[1], new.rsplit("/", 1)[1]
        components[new_name] = {**components.pop(old_name), "title": new_name}
    return result


def _version_parameter(accepted: Iterable[str]) -> dict[str, Any]:
    versions = ", ".join(f"`{version}`" for version in accepted)
    return {
        "name": "Scripe-Api-Version",
        "in": "header",
        "required": False,
        "description": f"The API version to use (accepted: {versions}). Omitted: the current "
        "version. Any other value is a `400 version_unsupported` listing the accepted ones.",
        "schema": {"type": "string", "example": "2026-08-01"},
    }


def _simplify_query_parameter(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    schema.pop("title", None)
    branches = schema.get("anyOf")
    if parameter.get("in") != "path" and isinstance(branches, list):
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema.update(kept[0])


def _name_enums(node: Any) -> Any:
    """Replace inline string enums equal to a named enum by a reference to it."""
    if isinstance(node, list):
        return [_name_enums(item) for item in node]
    if not isinstance(node, dict):
        return node
    enum = node.get("enum")
    if node.get("type") == "string" and isinstance(enum, list):
        for name, values in NAMED_ENUMS.items():
            if tuple(enum) == values:
                rest = {
                    key: value
                    for key, value in node.items()
                    if key not in {"type", "enum", "title"}
                }
                return {"$ref": f"#/components/schemas/{name}", **rest}
    return {key: _name_enums(value) for key, value in node.items()}


def _drop_property_titles(schemas: dict[str, Any]) -> None:
    # pydantic titles every property ("Projectid"); generators would name types after them.
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
            for branch in prop.get("anyOf", []):
                branch.pop("title", None)


def finish_openapi(schema: dict[str, Any], accepted_versions: Iterable[str]) -> dict[str, Any]:
    """Complete FastAPI's schema with what every `/v1` operation shares (module docstring)."""
    version_parameter = _version_parameter(accepted_versions)
    codes: set[str] = set()
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                _simplify_query_parameter(parameter)
            if not path.startswith("/v1/"):
                continue
            operation["parameters"] = [*operation.get("parameters", []), version_parameter]
            _drop_framework_validation_error(operation)
            _merge_errors(operation, _operation_errors(operation))
            operation["responses"] = dict(sorted(operation["responses"].items()))
            _add_headers(operation)
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
    _drop_property_titles(schemas)
    schema["paths"] = _name_enums(schema.get("paths", {}))
    components["schemas"] = _name_enums(schemas)
    for name, values in NAMED_ENUMS.items():
        components["schemas"][name] = {
            "type": "string",
            "enum": list(values),
            "title": name,
            "description": _ENUM_DESCRIPTIONS[name],
        }
    components["schemas"] = dict(sorted(components["schemas"].items()))
    components["headers"] = _components_headers()
    components["examples"] = _components_examples(codes)
    return _rename_generics(schema)


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


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, "parameters": parameters}


_DATA_ID = "$response.body#/data/id"

# Links let SDK docs and stateful tools chain calls: submit → poll → cancel, job → post.
JOB_LINKS: dict[str, Any] = {
    "GetJob": _link(
        "get_job", "Poll the job until it is DONE, FAILED or CANCELLED.", jobId=_DATA_ID
    ),
    "CancelJob": _link("cancel_job", "Cancel the job while it is still QUEUED.", jobId=_DATA_ID),
}
JOB_RESULT_LINKS: dict[str, Any] = {
    **JOB_LINKS,
    "GetPost": _link(
        "get_post",
        "The post a DONE POST_GENERATION job wrote (`result.postId`).",
        postId="$response.body#/data/result/postId",
    ),
}
CANCELLED_JOB_LINKS: dict[str, Any] = {"GetJob": JOB_LINKS["GetJob"]}
POST_LINKS: dict[str, Any] = {
    "GetPost": _link("get_post", "Read the post.", postId=_DATA_ID),
    "UpdatePost": _link("update_post", "Edit or (un)schedule the post.", postId=_DATA_ID),
    "GetProject": _link(
        "get_project", "The post's project.", projectId="$response.body#/data/projectId"
    ),
}
NOTE_LINKS: dict[str, Any] = {
    "GetNote": _link("get_note", "Read the note.", noteId=_DATA_ID),
}
PROJECT_LINKS: dict[str, Any] = {
    "ListPosts": _link("list_posts", "The project's posts.", projectId=_DATA_ID),
    "ListNotes": _link("list_notes", "The project's notes.", projectId=_DATA_ID),
}
