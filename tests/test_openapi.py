"""The committed contract (`openapi/openapi.json`) is exactly what the app serves."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from packaging.version import Version

from scripe_api.db.migrations import project_root
from scripe_api.openapi_export import OPENAPI_PATH, render_openapi
from scripe_api.settings import CURRENT_API_VERSION


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


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(render_openapi())
    return spec


def _error_codes(spec: dict[str, Any], operation: dict[str, Any], status: str) -> set[str]:
    response = operation["responses"][status]
    media = response["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    for example in media["examples"].values():
        name = example["$ref"].rsplit("/", 1)[1]
        assert spec["components"]["examples"][name]["value"]["error"]["code"] == name
    return set(media["examples"])


def test_every_operation_documents_every_error_it_can_answer() -> None:
    spec = _spec()
    for operation_id, operation in _operations(spec).items():
        statuses = set(operation["responses"])
        assert {"400", "500", "503"} <= statuses, operation_id
        assert "version_unsupported" in _error_codes(spec, operation, "400")
        if not operation.get("security"):
            continue
        assert {"401", "403", "429"} <= statuses, operation_id
        assert {"unauthenticated", "invalid_token", "key_revoked", "key_expired"} == (
            _error_codes(spec, operation, "401")
        )
        # scope_missing only where a scope is required (x-scopes lists them; empty: any key).
        forbidden = {"plan_not_eligible"} | ({"scope_missing"} if operation["x-scopes"] else set())
        assert forbidden == _error_codes(spec, operation, "403"), operation_id
        if "requestBody" in operation:
            assert "payload_too_large" in _error_codes(spec, operation, "413")
    operations = _operations(spec)
    assert "spend_cap_exceeded" in _error_codes(spec, operations["create_post_generation"], "402")
    assert {"not_cancellable", "idempotency_key_conflict", "idempotency_key_in_use"} == (
        _error_codes(spec, operations["cancel_job"], "409")
    )
    assert {"bad_pagination", "bad_cursor", "invalid_request", "version_unsupported"} == (
        _error_codes(spec, operations["list_jobs"], "400")
    )
    for operation_id in ("get_job", "get_post", "get_note", "get_project", "update_post"):
        assert _error_codes(spec, operations[operation_id], "404") == {"not_found"}
    # The framework's own validation body never appears: validation failures are envelopes.
    assert "HTTPValidationError" not in json.dumps(spec)


def test_operations_are_named_and_described_for_sdk_generators() -> None:
    for operation_id, operation in _operations(_spec()).items():
        verb, _, noun = operation_id.partition("_")
        assert verb in {
            "get",
            "list",
            "create",
            "update",
            "cancel",
            "delete",
            "rotate",
            "redeliver",
            "replay",
            "put",
        }, operation_id
        assert noun, operation_id
        assert operation["summary"], operation_id
        assert operation["description"], operation_id
        for status, response in operation["responses"].items():
            assert response["description"], (operation_id, status)


def test_headers_are_documented_on_requests_and_responses() -> None:
    spec = _spec()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for operation_id, operation in _operations(spec).items():
        parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert "Scripe-Api-Version" in parameters, operation_id
        is_write = operation_id.startswith(
            ("create_", "update_", "cancel_", "rotate_", "redeliver_", "replay_")
        )
        assert ("Idempotency-Key" in parameters) == is_write, operation_id
        for status, response in operation["responses"].items():
            headers = set(response["headers"])
            assert {"X-Request-Id", "Scripe-Api-Version"} <= headers, (operation_id, status)
            if operation.get("security"):
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= (
                    headers
                )
            is_envelope = "ErrorEnvelope" in json.dumps(response.get("content", {}))
            if status in {"429", "503"} and is_envelope:
                assert "Retry-After" in headers, (operation_id, status)
        if is_write:
            success = next(s for s in operation["responses"] if s.startswith("2"))
            assert "Idempotent-Replayed" in operation["responses"][success]["headers"]
    # Health's degraded 503 is its own body, not an outage: no Retry-After is promised there.
    degraded = _operations(spec)["get_health"]["responses"]["503"]
    assert "Retry-After" not in degraded["headers"]
    assert _operations(spec)["get_workspace_me"]["x-scopes"] == []
    assert _operations(spec)["get_job"]["x-scopes"] == [
        "jobs:read",
        "posts:write",
        "knowledge:write",
        "sources:write",
    ]
    headers = spec["components"]["headers"]
    assert headers["X-Request-Id"]["required"] is True
    assert headers["Retry-After"]["required"] is True


def test_job_post_and_content_enums_are_named_types() -> None:
    spec = _spec()
    schemas = spec["components"]["schemas"]
    assert schemas["JobStatus"]["enum"] == ["QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"]
    assert "SOURCE_INGEST_FILE" in schemas["JobType"]["enum"]
    assert "waitingApproval" in schemas["PostStatus"]["enum"]
    assert "EDUCATIONAL" in schemas["ContentType"]["enum"]
    variants = [schemas[name]["properties"] for name in _job_variants(schemas)]
    assert all(job["status"] == {"$ref": "#/components/schemas/JobStatus"} for job in variants)
    assert schemas["PostRead"]["properties"]["status"] == {
        "$ref": "#/components/schemas/PostStatus"
    }
    assert schemas["JobEnvelope"]["properties"]["data"] == {"$ref": "#/components/schemas/JobRead"}


def _job_variants(schemas: dict[str, Any]) -> list[str]:
    return [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["JobRead"]["oneOf"]]


def test_a_job_is_one_of_its_types_each_with_a_typed_result() -> None:
    """SDK users read `result.post_id` off a PostGenerationJob, not a free-form dict."""
    schemas = _spec()["components"]["schemas"]
    job = schemas["JobRead"]
    mapping = job["discriminator"]["mapping"]
    assert job["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(schemas["JobType"]["enum"])
    for job_type, ref in mapping.items():
        variant = schemas[ref.rsplit("/", 1)[1]]
        allowed = variant["properties"]["type"]
        assert job_type in allowed.get("enum", [allowed.get("const")])
        result = variant["properties"]["result"]["anyOf"]
        assert {"type": "null"} in result
        typed = schemas[next(item for item in result if "$ref" in item)["$ref"].rsplit("/", 1)[1]]
        assert len(typed["required"]) == 1
        assert typed["required"][0].endswith("Id")
    result_of = {
        job_type: schemas[ref.rsplit("/", 1)[1]]["properties"]["result"]["anyOf"][0]["$ref"]
        for job_type, ref in mapping.items()
    }
    assert result_of["POST_GENERATION"].endswith("/PostGenerationResult")
    assert result_of["KB_INGEST_URL"].endswith("/KnowledgeIngestResult")
    assert result_of["SOURCE_INGEST_FILE"].endswith("/SourceIngestResult")


def test_links_chain_submit_to_job_to_post() -> None:
    spec = _spec()
    operations = _operations(spec)
    submitted = operations["create_post_generation"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in submitted.values()} == {"get_job", "cancel_job"}
    polled = operations["get_job"]["responses"]["200"]["links"]
    assert polled["GetPost"]["parameters"] == {"postId": "$response.body#/data/result/postId"}
    for operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target["parameters"]}
                assert set(link["parameters"]) <= names, link


def test_request_bodies_carry_examples_and_the_source_one_of() -> None:
    schemas = _spec()["components"]["schemas"]
    for name in (
        "GenerationCreate",
        "PostCreate",
        "PostUpdate",
        "NoteCreate",
        "KnowledgeCreate",
        "SourceCreate",
        "UploadCreate",
    ):
        assert schemas[name]["examples"], name
        assert schemas[name]["additionalProperties"] is False, name
    source = schemas["GenerationCreate"]["properties"]["source"]
    assert source["oneOf"] == [
        {"$ref": "#/components/schemas/GenerationSourceText"},
        {"$ref": "#/components/schemas/GenerationSourceNote"},
        {"$ref": "#/components/schemas/GenerationSourceSource"},
    ]
    assert schemas["GenerationSourceText"]["required"] == ["text"]
    assert schemas["GenerationSourceNote"]["required"] == ["noteId"]
    assert schemas["GenerationSourceSource"]["required"] == ["sourceId"]


def test_info_version_is_a_package_version_and_the_api_versions_are_named() -> None:
    """SDK generators stamp `info.version` on the package they make: it must be a valid
    version (PEP 440 and semver); the API version clients pin is listed beside it."""
    info = json.loads(render_openapi())["info"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["version"]), info["version"]
    assert str(Version(info["version"])) == info["version"]
    assert info["x-api-versions"] == [CURRENT_API_VERSION]
    assert "Scripe-Api-Version" in info["description"]
