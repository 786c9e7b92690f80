"""Names SDK generators turn into types: named enums, `JobEnvelope`/`JobList`, no titles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from scripe_api.jobs.schemas import JobStatus, JobType
from scripe_api.posts.schemas import ContentType, PostStatus
from scripe_api.projects.schemas import ProjectStatus, ProjectType

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

_GENERIC_NAME = re.compile(r"^(?P<kind>List)?Envelope_(?P<item>\w+?)(?:Read)?_$")


def rename_generics(schema: dict[str, Any]) -> dict[str, Any]:
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


def named_enum_schemas() -> dict[str, Any]:
    return {
        name: {
            "type": "string",
            "enum": list(values),
            "title": name,
            "description": _ENUM_DESCRIPTIONS[name],
        }
        for name, values in NAMED_ENUMS.items()
    }


def simplify_query_parameter(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    schema.pop("title", None)
    branches = schema.get("anyOf")
    if parameter.get("in") != "path" and isinstance(branches, list):
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema.update(kept[0])


def name_enums(node: Any) -> Any:
    """Replace inline string enums equal to a named enum by a reference to it."""
    if isinstance(node, list):
        return [name_enums(item) for item in node]
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
    return {key: name_enums(value) for key, value in node.items()}


def drop_property_titles(schemas: dict[str, Any]) -> None:
    # pydantic titles every property ("Projectid"); generators would name types after them.
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
            for branch in prop.get("anyOf", []):
                branch.pop("title", None)
