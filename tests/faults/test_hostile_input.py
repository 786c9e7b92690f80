"""Hostile input on every endpoint of the committed OpenAPI document, against a real
`scripe-api serve` process: every answer is the documented 4xx envelope (never a 5xx, never a
dropped connection), oversized bodies are refused by length with a 413 the client can read, and
nothing is written."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.faults.ledger import row_counts
from tests.faults.openapi_ops import Operation, operations
from tests.faults.processes import ServiceProcess, api_process, client_of
from tests.faults.rawhttp import send_raw, send_raw_target

TEN_MB = 10 * 1024 * 1024
WRITTEN_TABLES = ("jobs", "posts", "notes", "idempotency_records", "spend_reservations")
MALFORMED: list[bytes] = [
    b'{"projectId": ',
    b'{"projectId": "p",}',
    b"{'projectId': 'p'}",
    b"",
    b"\x00\x01\x02",
    b'{"projectId": NaN}',
    b'{"projectId": "\xff\xfe\xfd"}',  # invalid UTF-8
    b"\xef\xbb\xbf\xc3\x28",
    b"[" * 10_000 + b"]" * 10_000,  # 10 000 levels deep
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
]
WRONG: list[Any] = [
    [],
    "text",
    None,
    12,
    {"projectId": 12, "source": {"text": ["a"]}},
    {"projectId": {"$ne": None}},
    {"projectId": "p", "source": {"text": "t"}, "wait_for_completion_ms": "soon"},
    {"projectId": "p", "source": {"text": "t", "noteId": "n"}},
    {"unknown": True},
]
HUGE: list[bytes] = [
    b'{"projectId": 1e400}',
    b'{"projectId": -1e400}',
    b'{"projectId": ' + str(2**70).encode() + b"}",
    b'{"projectId": "p", "source": {"text": "t"}, "wait_for_completion_ms": 1e400}',
    b'{"projectId": "p", "source": {"text": "t"}, "wait_for_completion_ms": '
    + str(2**70).encode()
    + b"}",
    b'{"content": "x", "title": ' + b"9" * 5000 + b"}",
]
INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE jobs; --",
    '" OR ""="',
    "1; SELECT pg_sleep(10)--",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "\u0000",
    "${jndi:ldap://x}",
    "*",
    "\\",
]
# Well-formed but odd query values: enum misses, huge and negative numbers, odd encodings.
QUERY_VALUES = [*INJECTIONS, "-1", "0", str(2**70), "1e400", "NaN", "%FF%FE", "é" * 300]
# A documented answer for a read with a hostile filter (or an empty page: nothing matched).
READ_CODES = {400, 404, 422}
WRITE_CODES = {400, 404, 409, 413, 422}


@dataclass(frozen=True)
class Foreign:
    """Another workspace's resources: their ids must answer 404 to the tenant."""

    ids: dict[str, str]


@dataclass(frozen=True)
class Target:
    api: ServiceProcess
    tenant: Tenant
    project_id: str
    foreign: Foreign


@pytest.fixture(scope="module")
async def target(
    fault_settings: Settings,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Target]:
    factory = Factory(fault_sessionmaker, fault_settings)
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    other = await factory.tenant(mode="test")
    other_project = await factory.project(other.workspace.id)
    folder = tmp_path_factory.mktemp("hostile")
    # Hundreds of requests from one workspace: fault_settings keeps the rate limiter out of reach.
    async with (
        api_process(fault_settings, folder / "api.log") as api,
        client_of(api, **other.headers) as client,
    ):
        endpoint = await client.post(
            "/v1/webhook-endpoints",
            json={"name": "h", "url": "http://127.0.0.1:9/hooks", "events": ["note.created"]},
        )
        post = await client.post("/v1/posts", json={"projectId": other_project.id, "content": "x"})
        note = await client.post("/v1/notes", json={"projectId": other_project.id, "content": "n"})
        source = await client.post("/v1/sources", json={"projectId": other_project.id, "text": "s"})
        upload = await client.post("/v1/uploads", json={"contentType": "text/plain"})
        endpoint_id = endpoint.json()["data"]["id"]
        deliveries = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
        job = await client.post(
            "/v1/posts/generations",
            json={"projectId": other_project.id, "source": {"text": "t"}},
        )
        assert post.status_code == note.status_code == 200, (post.text, note.text)
        assert job.status_code == 202, job.text
        foreign = Foreign(
            ids={
                "projectId": other_project.id,
                "postId": post.json()["data"]["id"],
                "noteId": note.json()["data"]["id"],
                "jobId": job.json()["data"]["id"],
                "endpointId": endpoint_id,
                "sourceId": source.json()["data"]["id"],
                "uploadId": upload.json()["data"]["id"],
                "deliveryId": deliveries.json()["data"][0]["id"],
            }
        )
        yield Target(api, tenant, project.id, foreign)


@contextlib.asynccontextmanager
async def nothing_written(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[None]:
    before = await row_counts(sessionmaker)
    yield
    after = await row_counts(sessionmaker)
    assert {t: after[t] for t in WRITTEN_TABLES} == {t: before[t] for t in WRITTEN_TABLES}


def assert_documented(response: httpx.Response, allowed: set[int], what: object) -> None:
    """A documented 4xx in the §1.4 envelope (any code the body names is checked for shape)."""
    assert response.status_code in allowed, (what, response.status_code, response.text[:300])
    assert_error(response, response.status_code, response.json()["error"]["code"])


# An upload's bytes: raw, up to the upload's own signed cap (not the JSON body cap), and no key
# but the signed URL (tests/ingest/test_uploads.py covers its hostile input).
UPLOAD_CONTENT = "/v1/uploads/{uploadId}/content"


def body_operations() -> list[Operation]:
    # Every write takes a body cap, including the ones that take no body at all.
    return [
        op
        for op in operations()
        if op.method in ("POST", "PATCH", "PUT") and op.template != UPLOAD_CONTENT
    ]


def _path(operation: Operation, target: Target) -> str:
    return operation.path("job_00000000000000000000000000")


async def test_malformed_wrong_and_huge_bodies_are_400_and_write_nothing(
    target: Target, fault_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with (
        nothing_written(fault_sessionmaker),
        client_of(target.api, **target.tenant.headers) as client,
    ):
        for operation in body_operations():
            if not operation.has_body:
                continue
            for number, raw in enumerate([*MALFORMED, *(json.dumps(b).encode() for b in WRONG)]):
                response = await client.request(
                    operation.method,
                    _path(operation, target),
                    content=raw,
                    headers={"Content-Type": "application/json", "Idempotency-Key": f"m{number}"},
                )
                assert_error(response, 400, "invalid_request")
            for raw in HUGE:
                response = await client.request(
                    operation.method,
                    _path(operation, target),
                    content=raw,
                    headers={"Content-Type": "application/json"},
                )
                # 2**70 ms is a well-formed wait (clamped): the unknown project answers then.
                assert_documented(response, {400, 404, 422}, (operation.name, raw[:80]))


async def test_injection_strings_in_every_body_field_and_filter_are_inert(
    target: Target, fault_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with (
        nothing_written(fault_sessionmaker),
        client_of(target.api, **target.tenant.headers) as client,
    ):
        for operation in operations():
            if operation.is_public:
                continue
            for value in QUERY_VALUES:
                for name in operation.query_params:
                    response = await client.request(
                        operation.method, _path(operation, target), params={name: value}
                    )
                    if response.status_code == 200:
                        assert response.json()["data"] == [], (operation.name, name, value)
                    else:
                        assert_documented(response, READ_CODES, (operation.name, name, value))
                for name in operation.path_params:
                    response = await client.request(
                        operation.method,
                        operation.path(quote(value, safe="") or "x"),
                        json={} if operation.has_body else None,
                    )
                    assert_documented(response, {400, 404, 405}, (operation.name, name, value))
            if operation.has_body:
                for value in INJECTIONS:
                    # The string in every field a generation, post, note or document takes.
                    body = {
                        "projectId": value,
                        "source": {"noteId": value},
                        "content": value,
                        "title": value,
                        "type": value,
                        "name": value,
                    }
                    for field in body:
                        response = await client.request(
                            operation.method,
                            _path(operation, target),
                            json={field: body[field]},
                        )
                        assert_documented(response, WRITE_CODES, (operation.name, field, value))


# A body each operation accepts (so the foreign id, not the body, decides the answer).
_VALID_BODIES: dict[str, dict[str, Any]] = {
    "/v1/webhook-endpoints/{endpointId}": {"name": "mine now"},
    "/v1/webhook-endpoints/{endpointId}/replay": {"since": "2026-12-01T00:00:00Z"},
}


async def test_foreign_ids_in_paths_and_bodies_are_404(
    target: Target, fault_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    foreign = target.foreign.ids
    async with (
        nothing_written(fault_sessionmaker),
        client_of(target.api, **target.tenant.headers) as client,
    ):
        for operation in operations():
            if not operation.path_params or operation.template == UPLOAD_CONTENT:
                continue
            path = operation.template
            for name in operation.path_params:
                path = path.replace("{" + name + "}", foreign[name])
            body: dict[str, Any] | None = None
            if operation.has_body:
                body = _VALID_BODIES.get(operation.template, {"content": "mine now"})
            response = await client.request(operation.method, path, json=body)
            assert_error(response, 404, "not_found")
        for path, body in (
            ("/v1/posts", {"projectId": foreign["projectId"], "content": "x"}),
            ("/v1/notes", {"projectId": foreign["projectId"], "content": "x"}),
            (
                "/v1/posts/generations",
                {"projectId": foreign["projectId"], "source": {"text": "x"}},
            ),
        ):
            assert_error(await client.post(path, json=body), 404, "not_found")
        generation = {"projectId": target.project_id, "source": {"noteId": foreign["noteId"]}}
        response = await client.post("/v1/posts/generations", json=generation)
        assert_error(response, 422, "unprocessable")
        for path in ("/v1/posts", "/v1/notes"):
            listed = await client.get(path, params={"projectId": foreign["projectId"]})
            if listed.status_code == 200:
                assert listed.json()["data"] == []
            else:
                assert_error(listed, 404, "not_found")


async def test_invalid_utf8_in_path_and_query_is_a_documented_4xx(
    target: Target, fault_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Authorization": target.tenant.headers["Authorization"]}
    async with nothing_written(fault_sessionmaker):
        for operation in operations():
            if not (operation.path_params or operation.query_params):
                continue
            # Percent-encoded invalid UTF-8 reaches the app; raw bytes above 0x7F in the
            # request line are not HTTP at all (RFC 9112): the HTTP server itself answers 400.
            targets: list[tuple[bytes, bool]] = []
            base = operation.path("x").encode()
            if operation.path_params:
                targets.append((operation.path("%FF%FE").encode(), False))
                targets.append((operation.path("\udcff").encode("utf-8", "surrogateescape"), True))
            for name in operation.query_params:
                targets.append((base + b"?" + name.encode() + b"=%FF%FE%C3%28", False))
                targets.append((base + b"?" + name.encode() + b"=\xff\xfe", True))
            for raw_target, is_raw in targets:
                result = await send_raw_target(
                    target.api.url, operation.method, raw_target, headers
                )
                assert result.send_error is None, result.send_error
                assert result.response is not None
                if is_raw:
                    # Not HTTP: refused by the protocol itself, in the envelope all the same.
                    assert_error(result.response, 400, "invalid_request")
                    continue
                if result.response.status_code == 200:
                    assert result.response.json()["data"] == [], (operation.name, raw_target)
                    continue
                assert_documented(result.response, {400, 404, 405}, (operation.name, raw_target))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_ten_megabyte_bodies_get_a_413_the_client_reads(
    target: Target, fault_sessionmaker: async_sessionmaker[AsyncSession], chunked: bool
) -> None:
    body = b'{"text": "' + b"a" * TEN_MB + b'"}'
    headers = {
        **target.tenant.headers,
        "Content-Type": "application/json",
        "Idempotency-Key": "big",
    }
    async with nothing_written(fault_sessionmaker):
        for operation in body_operations():
            result = await send_raw(
                target.api.url,
                operation.method,
                _path(operation, target),
                headers,
                body,
                chunked=chunked,
            )
            assert result.send_error is None, (operation.name, result.send_error)
            assert result.response is not None
            error = assert_error(result.response, 413, "payload_too_large")
            assert "KB" in error["message"]


@pytest.mark.parametrize(
    ("what", "target_bytes", "headers", "status", "code"),
    [
        ("100 KB query string", b"/v1/jobs?type=" + b"A" * 100_000, {}, 414, "uri_too_long"),
        ("60 KB path", b"/v1/jobs/" + b"j" * 60_000, {}, 414, "uri_too_long"),
        ("1 MB header value", b"/v1/jobs", {"X-Big": "v" * 1_000_000}, 431, "headers_too_large"),
        (
            "1 000 headers of 1 KB",
            b"/v1/jobs",
            {f"X-H{n}": "v" * 1000 for n in range(1000)},
            431,
            "headers_too_large",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_oversized_request_heads_are_refused_in_the_envelope(
    target: Target,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    what: str,
    target_bytes: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    """Refused by the HTTP protocol before routing, yet with the envelope, a request id and
    the version header — and read by a client that sent its whole request first."""
    async with nothing_written(fault_sessionmaker):
        result = await send_raw_target(
            target.api.url, "GET", target_bytes, {**target.tenant.headers, **headers}
        )
    assert result.send_error is None, (what, result.send_error)
    assert result.response is not None
    error = assert_error(result.response, status, code)
    assert "KB" in error["message"]
    # The server is still serving.
    async with client_of(target.api, **target.tenant.headers) as client:
        assert (await client.get("/v1/jobs", params={"limit": 1})).status_code == 200
