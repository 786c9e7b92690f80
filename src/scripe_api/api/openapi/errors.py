"""Error responses: one envelope schema, one shared example per code, grouped by status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    RateLimited,
)
BODY_ERRORS: tuple[type[AppError], ...] = (PayloadTooLarge,)
IDEMPOTENCY_ERRORS: tuple[type[AppError], ...] = (IdempotencyKeyConflict, IdempotencyKeyInUse)
PAGINATION_ERRORS: tuple[type[AppError], ...] = (BadPagination, BadCursor)


def _example(error: type[AppError]) -> dict[str, Any]:
    # One shared example per code (components.examples), referenced from every operation.
    return {"$ref": f"#/components/examples/{error.code}"}


def all_errors(root: type[AppError] = AppError) -> dict[str, type[AppError]]:
    """The service's error classes by code; the first defined wins (a subclass defined
    elsewhere, e.g. by a test, never changes the published examples)."""
    found: dict[str, type[AppError]] = {}
    pending = [root]
    while pending:
        error = pending.pop(0)
        if error.__module__.startswith("scripe_api."):
            found.setdefault(error.code, error)
        pending.extend(error.__subclasses__())
    return found


def components_examples(codes: Iterable[str]) -> dict[str, Any]:
    errors = all_errors()
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


def merge_errors(operation: dict[str, Any], errors: Iterable[type[AppError]]) -> None:
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


def is_error(response: dict[str, Any]) -> bool:
    """Whether a documented response is the error envelope (health's degraded 503 is not)."""
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    return bool(schema.get("$ref") == ERROR_REF)


def drop_framework_validation_error(operation: dict[str, Any]) -> None:
    # FastAPI documents its own 422 body for validation failures; ours are the envelope's 400.
    response = operation.get("responses", {}).get("422", {})
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    if schema.get("$ref", "").endswith("/HTTPValidationError"):
        del operation["responses"]["422"]


def operation_errors(operation: dict[str, Any]) -> list[type[AppError]]:
    parameters = {param["name"] for param in operation.get("parameters", [])}
    errors = list(COMMON_ERRORS)
    if operation.get("security"):
        errors += AUTH_ERRORS
    if operation.get("x-scopes"):
        errors += (ScopeMissing,)
    if "requestBody" in operation:
        errors += BODY_ERRORS
    if "Idempotency-Key" in parameters:
        errors += IDEMPOTENCY_ERRORS
    if {"limit", "cursor"} & parameters:
        errors += PAGINATION_ERRORS
    return errors
