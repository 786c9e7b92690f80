"""INGEST.md §5: the flat generation form real clients send — `text`, `noteId` or `sourceId` at
the top level instead of `source` — with the canonical form's rules, errors and jobs; exactly
one of the two forms. And `source.sourceId`, which no source can answer yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from scripe_api.settings import Settings
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import poll_job, send_json
from tests.workers_support import running_worker

PATH = "/v1/posts/generations"
SOURCE = "We moved standups to writing. Meetings halved, and the notes became our changelog."


@dataclass
class World:
    tenant: Tenant
    project_id: str
    note_id: str
    sibling_note_id: str


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    sibling = await factory.project(tenant.workspace.id, name="Company page")
    note_ids = []
    for project_id in (project.id, sibling.id):
        response = await client.post(
            "/v1/notes", headers=tenant.headers, json={"projectId": project_id, "content": SOURCE}
        )
        assert response.status_code == 200, response.text
        note_ids.append(response.json()["data"]["id"])
    return World(tenant, project.id, note_ids[0], note_ids[1])


async def generate(client: httpx.AsyncClient, world: World, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(PATH, headers=world.tenant.headers, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


async def post_of(client: httpx.AsyncClient, world: World, job: dict[str, Any]) -> dict[str, Any]:
    done = await poll_job(client, world.tenant.headers, job["id"])
    assert done["status"] == "DONE", done
    response = await client.get(
        f"/v1/posts/{done['result']['postId']}", headers=world.tenant.headers
    )
    post: dict[str, Any] = response.json()["data"]
    return post


async def test_flat_text_and_note_make_the_jobs_the_canonical_form_makes(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    options = {"contentType": "EDUCATIONAL"}
    bodies = [
        {"projectId": world.project_id, "text": SOURCE, "options": options},
        {"projectId": world.project_id, "source": {"text": SOURCE}, "options": options},
        {"projectId": world.project_id, "noteId": world.note_id, "options": options},
        {"projectId": world.project_id, "source": {"noteId": world.note_id}, "options": options},
    ]
    jobs = [await generate(client, world, body) for body in bodies]
    for job in jobs:
        assert job["type"] == "POST_GENERATION"
        assert job["status"] == "QUEUED"
        assert job["projectId"] == world.project_id
    async with running_worker(settings):
        posts = [await post_of(client, world, job) for job in jobs]
    for post in posts:
        # Written from the same text, with the same steering, either way it was sent.
        assert post["content"].endswith(f"Source: {SOURCE}"), post
        assert post["contentType"] == "EDUCATIONAL"
        assert post["status"] == "draft"


async def test_flat_fields_follow_the_canonical_rules(
    client: httpx.AsyncClient, world: World
) -> None:
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"text": ""}, 400, "invalid_request", "source.text"),
        ({"text": 42}, 400, "invalid_request", "source.text"),
        ({"text": None}, 400, "invalid_request", "source.text"),
        ({"text": "a\x00b"}, 400, "invalid_request", "source.text"),
        ({"noteId": 7}, 400, "invalid_request", "source.noteId"),
        ({"sourceId": 7}, 400, "invalid_request", "source.sourceId"),
        ({"text": "x", "tone": "bold"}, 400, "invalid_request", "tone"),
        ({"noteId": "note_unknown"}, 422, "unprocessable", "source.noteId"),
        ({"noteId": world.sibling_note_id}, 422, "unprocessable", "source.noteId"),
        ({"text": "x", "options": {"length": "huge"}}, 422, "unprocessable", "options.length"),
    ]
    for fields, status, code, field in cases:
        body = {"projectId": world.project_id, **fields}
        response = await send_json(client, "POST", PATH, world.tenant.headers, body)
        error = assert_error(response, status, code)
        assert error["details"] == {"field": field}, fields
    too_large = {"projectId": world.project_id, "text": "a" * (100 * 1024 + 1)}
    response = await client.post(PATH, headers=world.tenant.headers, json=too_large)
    assert "source.text" in assert_error(response, 413, "payload_too_large")["message"]
    # The project is looked up before the note, as in the canonical form.
    unknown = {"projectId": "proj_unknown", "noteId": "note_unknown"}
    response = await client.post(PATH, headers=world.tenant.headers, json=unknown)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("case", "fields", "named"),
    [
        ("source and text", {"source": {"text": "x"}, "text": "x"}, ("source", "text")),
        ("source and noteId", {"source": {"text": "x"}, "noteId": "n"}, ("source", "noteId")),
        ("null source and text", {"source": None, "text": "x"}, ("source", "text")),
        ("text and noteId", {"text": "x", "noteId": "n"}, ("text", "noteId")),
        ("text and sourceId", {"text": "x", "sourceId": "s"}, ("text", "sourceId")),
        ("null text and noteId", {"text": None, "noteId": None}, ("text", "noteId")),
    ],
)
async def test_mixing_forms_or_flat_fields_is_an_invalid_request(
    client: httpx.AsyncClient,
    world: World,
    case: str,
    fields: dict[str, Any],
    named: tuple[str, ...],
) -> None:
    body = {"projectId": world.project_id, **fields}
    response = await client.post(PATH, headers=world.tenant.headers, json=body)
    error = assert_error(response, 400, "invalid_request")
    assert error["details"] == {"field": "source"}, case
    for name in named:
        assert name in error["message"], error
    listed = await client.get("/v1/jobs", headers=world.tenant.headers)
    assert listed.json()["data"] == []


async def test_a_source_id_is_not_found_in_either_form(
    client: httpx.AsyncClient, world: World
) -> None:
    """No source of the project has that id: a 422 naming the field, in either form."""
    for body in (
        {"projectId": world.project_id, "sourceId": "src_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"},
        {"projectId": world.project_id, "source": {"sourceId": "src_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"}},
    ):
        response = await client.post(PATH, headers=world.tenant.headers, json=body)
        error = assert_error(response, 422, "unprocessable")
        assert error["details"] == {"field": "source.sourceId"}
        assert "src_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D" in error["message"]
    both = {"projectId": world.project_id, "source": {"sourceId": "src_1", "text": "x"}}
    response = await client.post(PATH, headers=world.tenant.headers, json=both)
    error = assert_error(response, 400, "invalid_request")
    assert error["details"] == {"field": "source"}
    assert "sourceId" in error["message"]
    listed = await client.get("/v1/jobs", headers=world.tenant.headers)
    assert listed.json()["data"] == []
