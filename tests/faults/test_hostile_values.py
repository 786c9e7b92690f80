"""Generated hostile values in every id, date and integer field of every operation of the
committed OpenAPI document (path, query and body, nested fields included): the answer is never a
5xx, and an answer that refuses the request wrote no row and queued nothing.

Ids get lone surrogates, NUL, huge and odd strings and wrong JSON types; dates get the
calendar's edges with extreme offsets, impossible dates and junk; integers get huge, negative
and fractional values and wrong types. A new endpoint or field is covered by itself; each body
operation starts from its schema's first example (its ids replaced by real ones).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error
from tests.factories import Factory
from tests.faults.openapi_ops import OPENAPI

WRITTEN_TABLES = ("jobs", "posts", "notes", "idempotency_records", "spend_reservations")
QUEUE = "arq:queue"

_DOCUMENT: dict[str, Any] = json.loads(OPENAPI.read_text())
_OFFSETS = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((23, 59), (-23, -59), (5, 0))]


@dataclass(frozen=True)
class Field:
    """One input of one operation: where it goes and what kind of value it holds."""

    method: str
    template: str
    location: str  # path, query or body
    path: tuple[str, ...]  # the body's nested keys, or the parameter's name
    kind: str  # id, date or integer
    in_one_of: bool  # its parent object is one branch of a one-of (sent alone)

    @property
    def label(self) -> str:
        return f"{self.method} {self.template} {self.location}:{'.'.join(self.path)}"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [_resolve(member) for member in schema[key] if member.get("type") != "null"]
    return [schema]


def _kind(name: str, schema: dict[str, Any]) -> str | None:
    for branch in _branches(schema):
        if branch.get("type") == "integer":
            return "integer"
        if branch.get("format") == "date-time" or name in ("dateFrom", "dateTo"):
            return "date"
        if branch.get("type") == "string" and (name.endswith("Id") or name == "id"):
            return "id"
    return None


def _body_fields(
    schema: dict[str, Any], prefix: tuple[str, ...], in_one_of: bool
) -> Iterator[tuple[tuple[str, ...], str, bool]]:
    schema = _resolve(schema)
    is_one_of = "oneOf" in schema
    for branch in _branches(schema):
        for name, child in branch.get("properties", {}).items():
            path = (*prefix, name)
            kind = _kind(name, child)
            if kind is not None:
                yield path, kind, in_one_of
            yield from _body_fields(child, path, is_one_of)


def fields() -> list[Field]:
    found: list[Field] = []
    for template, item in _DOCUMENT["paths"].items():
        for method, operation in item.items():
            if not operation.get("security"):
                continue  # public operations take no ids, dates or integers
            for parameter in operation.get("parameters", []):
                where = parameter["in"]
                kind = "id" if where == "path" else _kind(parameter["name"], parameter["schema"])
                if where in ("path", "query") and kind is not None:
                    found.append(
                        Field(method.upper(), template, where, (parameter["name"],), kind, False)
                    )
            body = operation.get("requestBody")
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                for path, kind, in_one_of in _body_fields(schema, (), False):
                    found.append(Field(method.upper(), template, "body", path, kind, in_one_of))
    return found


def _text_ids() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
        st.text(max_size=60),
        st.builds(
            lambda a, s, b: a + s + b,
            st.text(max_size=8),
            st.sampled_from(["\x00", "\ud800", "\udfff"]),
            st.text(max_size=8),
        ),
        st.sampled_from(["", "x" * 5000, "job_" + "0" * 26, "%00", "' OR 1=1 --", "\\u0000"]),
    )


def _dates() -> st.SearchStrategy[str]:
    edges = [
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999999-23:59",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59+00:00",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00",
        "",
        "now",
        "1e400",
    ]
    moments = st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, *_OFFSETS]),
    )
    return st.one_of(
        st.sampled_from(edges),
        moments.map(lambda moment: moment.isoformat()),
        st.dates().map(lambda day: day.isoformat()),
    )


def _integers() -> st.SearchStrategy[int | float | str]:
    return st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80),
        st.sampled_from([0, -1, 1, 200, 201, 1000, 1001, 25_000, 25_001, 2**31, 2**63, 2**64]),
        st.sampled_from([1000.0, 0.5, -0.0, 1e300, "12", "1e400", ""]),
    )


def hostile(kind: str, location: str) -> st.SearchStrategy[Any]:
    base: st.SearchStrategy[Any] = {"id": _text_ids, "date": _dates, "integer": _integers}[kind]()
    if location == "body":
        # Wrong JSON types too.
        return st.one_of(base, st.sampled_from([None, True, [], {}, 12, 1.5]))
    return base.map(str)


@dataclass(frozen=True)
class Target:
    client: httpx.AsyncClient
    ids: dict[str, str]
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def target(
    fault_settings: Settings, fault_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Target]:
    # ENTERPRISE: no spend cap, so accepted generations never turn into 402s; waits end fast.
    factory = Factory(fault_sessionmaker, fault_settings)
    tenant = await factory.tenant(plan="ENTERPRISE")
    project = await factory.project(tenant.workspace.id)
    # Waits and event streams end fast: this client reads whole responses.
    app = create_app(
        fault_settings.model_copy(update={"wait_max_ms": 20, "events_stream_max_seconds": 0.05})
    )
    engine = create_async_engine(fault_settings.database_url, pool_size=1)
    async with serve(app) as client:
        client.headers.update(tenant.headers)
        endpoint = await client.post(
            "/v1/webhook-endpoints",
            json={"name": "h", "url": "http://127.0.0.1:9/hooks", "events": ["note.created"]},
        )
        post = await client.post("/v1/posts", json={"projectId": project.id, "content": "x"})
        note = await client.post("/v1/notes", json={"projectId": project.id, "content": "n"})
        source = await client.post("/v1/sources", json={"projectId": project.id, "text": "s"})
        upload = await client.post("/v1/uploads", json={"contentType": "text/plain"})
        job = await client.post(
            "/v1/posts/generations", json={"projectId": project.id, "source": {"text": "t"}}
        )
        ids = {
            "projectId": project.id,
            "postId": post.json()["data"]["id"],
            "noteId": note.json()["data"]["id"],
            "jobId": job.json()["data"]["id"],
            "endpointId": endpoint.json()["data"]["id"],
            "sourceId": source.json()["data"]["id"],
            "uploadId": upload.json()["data"]["id"],
            "deliveryId": await _delivery_of(client, endpoint.json()["data"]["id"]),
        }
        yield Target(client, ids, engine)
    await engine.dispose()


async def _delivery_of(client: httpx.AsyncClient, endpoint_id: str) -> str:
    deliveries = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
    delivery_id: str = deliveries.json()["data"][0]["id"]
    return delivery_id


def _base_body(field: Field, ids: dict[str, str]) -> dict[str, Any]:
    operation = _DOCUMENT["paths"][field.template][field.method.lower()]
    schema = _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    assert schema.get("examples"), f"{field.label}: the body schema needs an example"
    body: dict[str, Any] = json.loads(json.dumps(schema["examples"][0]))
    body.pop("wait_for_completion_ms", None)
    for name in ids:
        if name in body:
            body[name] = ids[name]
    return body


def _with(body: dict[str, Any], field: Field, value: Any) -> dict[str, Any]:
    *parents, name = field.path
    node = body
    for parent in parents:
        if field.in_one_of or not isinstance(node.get(parent), dict):
            node[parent] = {}
        node = node[parent]
    node[name] = value
    return body


def _request(field: Field, target: Target, value: Any) -> tuple[str, dict[str, Any]]:
    path = field.template
    for name, real in target.ids.items():
        path = path.replace("{" + name + "}", real)
    options: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
    if field.location == "path":
        raw = str(value).encode("utf-8", "surrogatepass")
        path = path.replace(target.ids[field.path[0]], quote(raw, safe="") or "%20")
    operation = _DOCUMENT["paths"][field.template][field.method.lower()]
    body = _base_body(field, target.ids) if "requestBody" in operation else None
    params: dict[str, str] = {}
    if field.template in ("/v1/posts", "/v1/notes") and field.method == "GET":
        params["projectId"] = target.ids["projectId"]
    if field.location == "query":
        params[field.path[0]] = value
    if field.location == "body":
        assert body is not None
        body = _with(body, field, value)
    query = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in params.items()
    )
    if query:
        path = f"{path}?{query}"
    if body is not None:
        # ASCII JSON with \\u escapes, as any client may write it: it can carry lone surrogates.
        options["content"] = json.dumps(body).encode()
    return path, options


# The written tables are this module's constants, not input.
_COUNTS = text(
    "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in WRITTEN_TABLES)  # noqa: S608
)


async def _footprint(engine: AsyncEngine, redis: Redis) -> tuple[tuple[int, ...], int]:
    """Rows in every table a request could write, and entries on the queue."""
    async with engine.connect() as connection:
        counts = tuple((await connection.execute(_COUNTS)).one())
    return counts, int(await redis.zcard(QUEUE))


FIELDS = fields()


@pytest.mark.parametrize("field", FIELDS, ids=[field.label for field in FIELDS])
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
    database=None,
)
@given(data=st.data())
async def test_hostile_values_get_a_documented_answer_and_write_nothing(
    target: Target,
    fault_redis: Redis,
    field: Field,
    data: st.DataObject,
) -> None:
    value = data.draw(hostile(field.kind, field.location), label=field.label)
    path, options = _request(field, target, value)
    before = await _footprint(target.engine, fault_redis)
    response = await target.client.request(field.method, path, **options)
    assert response.status_code < 500, (field.label, value, response.text[:300])
    if response.status_code >= 400:
        assert_error(response, response.status_code, response.json()["error"]["code"])
        assert await _footprint(target.engine, fault_redis) == before, (field.label, value)


def test_every_kind_of_field_is_covered() -> None:
    """The generator found what the document declares (a renamed field cannot slip out)."""
    labels = {field.label for field in FIELDS}
    for expected in (
        "GET /v1/jobs/{jobId} path:jobId",
        "GET /v1/jobs query:dateTo",
        "GET /v1/jobs query:limit",
        "POST /v1/posts/generations body:projectId",
        "POST /v1/posts/generations body:source.noteId",
        "POST /v1/posts/generations body:scheduledFor",
        "POST /v1/posts/generations body:wait_for_completion_ms",
        "PATCH /v1/posts/{postId} body:scheduledFor",
        "POST /v1/knowledge body:projectId",
    ):
        assert expected in labels, sorted(labels)
