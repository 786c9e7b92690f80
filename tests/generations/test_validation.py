"""§5 `POST /v1/posts/generations` at submit: every way a request is refused, the order of the
checks, and the 202 Job envelope of one that is accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import format_timestamp
from scripe_api.settings import Settings
from tests.assertions import assert_context_headers, assert_error
from tests.clock import db_now
from tests.factories import Factory, Tenant
from tests.jobs.calls import JOB_FIELDS, poll_job, send_json
from tests.workers_support import running_worker

PATH = "/v1/posts/generations"
SOURCE_TEXT_MAX_BYTES = 100 * 1024


@dataclass
class World:
    """A tenant with two projects and a note in each; another workspace with its own."""

    tenant: Tenant
    project_id: str
    note_id: str
    sibling_note_id: str
    foreign_project_id: str
    foreign_note_id: str

    def body(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"projectId": self.project_id, "source": {"text": "Ship it."}}
        body.update(changes)
        return body


async def create_note(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, content: str
) -> str:
    response = await client.post(
        "/v1/notes", headers=tenant.headers, json={"projectId": project_id, "content": content}
    )
    assert response.status_code == 200, response.text
    note_id: str = response.json()["data"]["id"]
    return note_id


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    sibling = await factory.project(tenant.workspace.id, name="Company page")
    stranger = await factory.tenant()
    foreign = await factory.project(stranger.workspace.id)
    return World(
        tenant=tenant,
        project_id=project.id,
        note_id=await create_note(client, tenant, project.id, "A note."),
        sibling_note_id=await create_note(client, tenant, sibling.id, "Another project's note."),
        foreign_project_id=foreign.id,
        foreign_note_id=await create_note(client, stranger, foreign.id, "Not yours."),
    )


BadBody = Callable[[World], dict[str, Any]]

# (case, body, field named in the error)
INVALID: list[tuple[str, BadBody, str]] = [
    ("unknown top-level field", lambda w: w.body(tone="bold"), "tone"),
    (
        "unknown field in source",
        lambda w: w.body(source={"text": "x", "url": "https://example.com"}),
        "source.url",
    ),
    ("unknown field in options", lambda w: w.body(options={"tone": "bold"}), "options.tone"),
    ("capitalised unknown field", lambda w: w.body(Tone="bold"), "Tone"),
    (
        "capitalised unknown field in source",
        lambda w: w.body(source={"text": "x", "Extra": 1}),
        "source.Extra",
    ),
    (
        "both text and noteId",
        lambda w: w.body(source={"text": "x", "noteId": w.note_id}),
        "source",
    ),
    ("neither text nor noteId", lambda w: w.body(source={}), "source"),
    (
        "null text and noteId",
        lambda w: w.body(source={"text": None, "noteId": None}),
        "source",
    ),
    ("missing projectId", lambda w: {"source": {"text": "x"}}, "projectId"),
    ("missing source", lambda w: {"projectId": w.project_id}, "source"),
    ("empty text", lambda w: w.body(source={"text": ""}), "source.text"),
    ("text not a string", lambda w: w.body(source={"text": 42}), "source.text"),
    ("projectId not a string", lambda w: w.body(projectId=7), "projectId"),
    ("source not an object", lambda w: w.body(source="Ship it."), "source"),
    ("negative wait", lambda w: w.body(wait_for_completion_ms=-1), "wait_for_completion_ms"),
    ("wait as a string", lambda w: w.body(wait_for_completion_ms="5"), "wait_for_completion_ms"),
    ("fractional wait", lambda w: w.body(wait_for_completion_ms=1.5), "wait_for_completion_ms"),
    ("boolean wait", lambda w: w.body(wait_for_completion_ms=True), "wait_for_completion_ms"),
    (
        "scheduledFor without offset",
        lambda w: w.body(scheduledFor="2030-01-01T09:00:00"),
        "scheduledFor",
    ),
    ("scheduledFor not a time", lambda w: w.body(scheduledFor="next monday"), "scheduledFor"),
    # Valid local times that no UTC timestamp can hold: never accepted, never queued.
    (
        "scheduledFor past year 9999 in UTC",
        lambda w: w.body(scheduledFor="9999-12-31T23:59:59-05:00"),
        "scheduledFor",
    ),
    (
        "scheduledFor before year 1 in UTC",
        lambda w: w.body(scheduledFor="0001-01-01T00:00:00+05:00"),
        "scheduledFor",
    ),
    ("language not a string", lambda w: w.body(options={"language": 1}), "options.language"),
    # Text Postgres cannot store is refused up front, not at INSERT time.
    ("NUL in text", lambda w: w.body(source={"text": "a\x00b"}), "source.text"),
    ("lone surrogate in text", lambda w: w.body(source={"text": "a\ud800b"}), "source.text"),
    ("NUL in language", lambda w: w.body(options={"language": "e\x00n"}), "options.language"),
]

UNPROCESSABLE: list[tuple[str, BadBody, str]] = [
    (
        "contentType outside the enum",
        lambda w: w.body(options={"contentType": "TWEET"}),
        "options.contentType",
    ),
    ("length outside the enum", lambda w: w.body(options={"length": "huge"}), "options.length"),
    ("unknown note", lambda w: w.body(source={"noteId": "note_unknown"}), "source.noteId"),
    (
        "another workspace's note",
        lambda w: w.body(source={"noteId": w.foreign_note_id}),
        "source.noteId",
    ),
    (
        "another project's note",
        lambda w: w.body(source={"noteId": w.sibling_note_id}),
        "source.noteId",
    ),
    ("malformed note id", lambda w: w.body(source={"noteId": "note_\x00"}), "source.noteId"),
    ("lone surrogate note id", lambda w: w.body(source={"noteId": "\udc80"}), "source.noteId"),
]


@pytest.mark.parametrize(("case", "make_body", "field"), INVALID, ids=[c[0] for c in INVALID])
async def test_malformed_bodies_are_invalid_requests(
    client: httpx.AsyncClient, world: World, case: str, make_body: BadBody, field: str
) -> None:
    response = await send_json(client, "POST", PATH, world.tenant.headers, make_body(world))
    error = assert_error(response, 400, "invalid_request")
    assert error["details"] == {"field": field}, case
    assert field in error["message"], error


@pytest.mark.parametrize(
    ("case", "make_body", "field"), UNPROCESSABLE, ids=[c[0] for c in UNPROCESSABLE]
)
async def test_rule_breaking_bodies_are_unprocessable(
    client: httpx.AsyncClient, world: World, case: str, make_body: BadBody, field: str
) -> None:
    response = await send_json(client, "POST", PATH, world.tenant.headers, make_body(world))
    error = assert_error(response, 422, "unprocessable")
    assert error["details"] == {"field": field}, case
    assert field in error["message"], error


async def test_malformed_json_is_an_invalid_request(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        PATH,
        headers={**world.tenant.headers, "Content-Type": "application/json"},
        content=b'{"projectId": ',
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_not_sent_as_json_says_which_header_to_send(
    client: httpx.AsyncClient, world: World, content_type: str | None
) -> None:
    """A person who forgot the header reads what to do, not the validator's 'valid dictionary'."""
    headers = dict(world.tenant.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps(world.body()).encode()
    response = await client.post(PATH, headers=headers, content=body)
    error = assert_error(response, 400, "invalid_request")
    assert "Content-Type: application/json" in error["message"], error
    assert error["details"] == {"field": "body"}


async def test_schedule_in_the_past_is_unprocessable(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = await db_now(sessionmaker)
    for moment in (now - timedelta(seconds=1), now - timedelta(days=400)):
        response = await client.post(
            PATH, headers=world.tenant.headers, json=world.body(scheduledFor=moment.isoformat())
        )
        error = assert_error(response, 422, "unprocessable")
        assert error["details"] == {"field": "scheduledFor"}


async def test_source_text_over_100_kb_is_too_large(
    client: httpx.AsyncClient, world: World
) -> None:
    # Bytes of UTF-8, not characters: 51 201 × "é" is 102 402 bytes (the body stays < 256 KB).
    for text in ("é" * (SOURCE_TEXT_MAX_BYTES // 2 + 1), "a" * (SOURCE_TEXT_MAX_BYTES + 1)):
        response = await client.post(
            PATH, headers=world.tenant.headers, json=world.body(source={"text": text})
        )
        error = assert_error(response, 413, "payload_too_large")
        assert "source.text" in error["message"]
    exactly = "a" * SOURCE_TEXT_MAX_BYTES
    response = await client.post(
        PATH, headers=world.tenant.headers, json=world.body(source={"text": exactly})
    )
    assert response.status_code == 202, response.text


async def test_unknown_or_foreign_project_is_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    for project_id in ("proj_unknown", world.foreign_project_id):
        response = await client.post(
            PATH, headers=world.tenant.headers, json=world.body(projectId=project_id)
        )
        error = assert_error(response, 404, "not_found")
        assert project_id in error["message"]
    # The project is looked up before the note: a foreign project is a 404, not a 422.
    response = await client.post(
        PATH,
        headers=world.tenant.headers,
        json=world.body(projectId=world.foreign_project_id, source={"noteId": "note_unknown"}),
    )
    assert_error(response, 404, "not_found")


async def test_refused_requests_create_no_job(client: httpx.AsyncClient, world: World) -> None:
    for make_body in [case[1] for case in INVALID + UNPROCESSABLE]:
        await send_json(client, "POST", PATH, world.tenant.headers, make_body(world))
    await client.post(PATH, headers=world.tenant.headers, json=world.body(projectId="proj_x"))
    listed = await client.get("/v1/jobs", headers=world.tenant.headers)
    assert listed.json()["data"] == []


@pytest.mark.smoke
async def test_accepted_generation_answers_202_with_the_job(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        PATH,
        headers=world.tenant.headers,
        json=world.body(
            options={"language": "en", "contentType": "EDUCATIONAL", "length": "short"}
        ),
    )
    assert response.status_code == 202, response.text
    assert_context_headers(response)
    body = response.json()
    assert set(body) == {"data"}
    job = body["data"]
    assert set(job) == JOB_FIELDS
    assert job["id"].startswith("job_")
    assert job["type"] == "POST_GENERATION"
    assert job["status"] == "QUEUED"
    assert job["projectId"] == world.project_id
    assert job["attemptCount"] == 0
    assert isinstance(job["estimatedCompletionMs"], int)
    assert job["estimatedCompletionMs"] > 0
    for empty in ("progress", "result", "errorCode", "errorMessage", "startedAt", "completedAt"):
        assert job[empty] is None, empty
    assert job["updatedAt"] >= job["createdAt"]
    assert job["createdAt"].endswith("Z")
    read = await client.get(f"/v1/jobs/{job['id']}", headers=world.tenant.headers)
    assert read.json()["data"] == job


async def test_note_of_the_project_is_accepted(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        PATH, headers=world.tenant.headers, json=world.body(source={"noteId": world.note_id})
    )
    assert response.status_code == 202, response.text


async def test_future_schedule_and_large_wait_are_accepted(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    later = await db_now(sessionmaker) + timedelta(days=2)
    response = await client.post(
        PATH,
        headers=world.tenant.headers,
        json=world.body(scheduledFor=format_timestamp(later), wait_for_completion_ms=0),
    )
    assert response.status_code == 202, response.text
    assert response.json()["data"]["status"] == "QUEUED"


async def test_the_latest_storable_schedule_is_accepted_and_saved(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    response = await client.post(
        PATH, headers=world.tenant.headers, json=world.body(scheduledFor="9999-12-31T23:59:59Z")
    )
    assert response.status_code == 202, response.text
    async with running_worker(settings):
        done = await poll_job(client, world.tenant.headers, response.json()["data"]["id"])
    assert done["status"] == "DONE", done
    post = await client.get(f"/v1/posts/{done['result']['postId']}", headers=world.tenant.headers)
    assert post.json()["data"]["scheduledAt"] == "9999-12-31T23:59:59.000Z"


async def test_authentication_comes_before_validation(
    client: httpx.AsyncClient, world: World
) -> None:
    invalid = {"projectId": 7, "bogus": True}
    assert_error(await client.post(PATH, json=invalid), 401, "unauthenticated")
    assert_error(
        await client.post(PATH, json=invalid, headers={"Authorization": "Bearer scripe_sk_x"}),
        401,
        "invalid_token",
    )


async def test_scope_comes_before_validation(
    client: httpx.AsyncClient, factory: Factory, world: World
) -> None:
    reader = await factory.key(world.tenant.workspace.id, ("posts:read", "jobs:write"))
    response = await client.post(
        PATH,
        headers={"Authorization": f"Bearer {reader.secret}"},
        content=b"not json at all",
    )
    error = assert_error(response, 403, "scope_missing")
    assert error["details"] == {"required": ["posts:write"]}
