"""§7.4 posts by hand: create a draft or a scheduled post, edit it, (re)schedule it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from scripe_api.core.clock import format_timestamp
from tests.assertions import assert_error
from tests.factories import Factory
from tests.jobs.calls import send_json
from tests.posts.calls import POST_FIELDS, create_post, patch_post, read_post


async def test_create_a_draft_and_a_scheduled_post(
    client: httpx.AsyncClient, factory: Factory, now: datetime
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    draft = await create_post(client, tenant, projectId=project.id, content="Hello LinkedIn")
    assert set(draft) == POST_FIELDS
    assert draft["id"].startswith("post_")
    assert draft["status"] == "draft"
    assert draft["platform"] == "LINKEDIN"
    assert draft["contentType"] == "UNKNOWN"
    assert draft["title"] is None
    assert draft["content"] == "Hello LinkedIn"
    assert draft["projectId"] == project.id
    assert draft["scheduledAt"] is None
    assert await read_post(client, tenant, draft["id"]) == draft

    at = format_timestamp(now + timedelta(days=1))
    scheduled = await create_post(
        client,
        tenant,
        projectId=project.id,
        title="Launch",
        content="We launch tomorrow.",
        contentType="BUSINESS_EXTERNAL",
        scheduledFor=at,
    )
    assert scheduled["status"] == "scheduled"
    assert scheduled["scheduledAt"] == at
    assert scheduled["title"] == "Launch"
    assert scheduled["contentType"] == "BUSINESS_EXTERNAL"
    assert await read_post(client, tenant, scheduled["id"]) == scheduled


async def test_schedule_reads_back_as_it_was_answered(
    client: httpx.AsyncClient, factory: Factory, now: datetime
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    # Sub-millisecond digits: the API speaks milliseconds, and answers what it stored.
    at = (now + timedelta(days=1)).replace(microsecond=999_900)
    created = await create_post(client, tenant, projectId=project.id, scheduledFor=at.isoformat())
    assert created["scheduledAt"] == format_timestamp(at)
    assert await read_post(client, tenant, created["id"]) == created
    later = (now + timedelta(days=2)).replace(microsecond=123_999)
    patched = await patch_post(client, tenant, created["id"], scheduledFor=later.isoformat())
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["scheduledAt"] == format_timestamp(later)
    assert await read_post(client, tenant, created["id"]) == patched.json()["data"]


async def test_create_refuses_bad_input(
    client: httpx.AsyncClient, factory: Factory, now: datetime
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"content": "x"}, 400, "invalid_request"),
        ({"projectId": project.id, "body": "x"}, 400, "invalid_request"),
        ({"projectId": project.id, "scheduledFor": "2030-01-01T09:00:00"}, 400, "invalid_request"),
        ({"projectId": project.id, "content": 5}, 400, "invalid_request"),
        ({"projectId": project.id, "content": "a\x00b"}, 400, "invalid_request"),
        ({"projectId": project.id, "title": "a\ud800b"}, 400, "invalid_request"),
        ({"projectId": project.id, "contentType": "TWEET"}, 422, "unprocessable"),
        (
            {"projectId": project.id, "scheduledFor": format_timestamp(now - timedelta(hours=1))},
            422,
            "unprocessable",
        ),
        ({"projectId": project.id, "content": "x" * 100_001}, 413, "payload_too_large"),
        ({"projectId": project.id, "title": "x" * 501}, 413, "payload_too_large"),
        ({"projectId": "proj_unknown"}, 404, "not_found"),
    ]
    for body, status, code in cases:
        response = await send_json(client, "POST", "/v1/posts", tenant.headers, body)
        assert_error(response, status, code)
    listed = await client.get("/v1/posts", headers=tenant.headers, params={"projectId": project.id})
    assert listed.json()["data"] == []
    # At the caps exactly, a post is fine.
    await create_post(client, tenant, projectId=project.id, content="x" * 100_000, title="t" * 500)


async def test_patch_reschedules_unschedules_and_leaves_alone(
    client: httpx.AsyncClient, factory: Factory, now: datetime
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    post = await create_post(client, tenant, projectId=project.id, content="v1")
    assert post["updatedAt"] is None

    first = format_timestamp(now + timedelta(days=1))
    response = await patch_post(client, tenant, post["id"], scheduledFor=first)
    assert response.status_code == 200, response.text
    scheduled = response.json()["data"]
    assert (scheduled["status"], scheduled["scheduledAt"]) == ("scheduled", first)
    assert scheduled["updatedAt"] is not None

    second = format_timestamp(now + timedelta(days=2, hours=3))
    rescheduled = (await patch_post(client, tenant, post["id"], scheduledFor=second)).json()
    assert (rescheduled["data"]["status"], rescheduled["data"]["scheduledAt"]) == (
        "scheduled",
        second,
    )

    # Absent leaves the schedule as it is.
    edited = (await patch_post(client, tenant, post["id"], content="v2", title="T")).json()["data"]
    assert (edited["status"], edited["scheduledAt"]) == ("scheduled", second)
    assert (edited["content"], edited["title"]) == ("v2", "T")

    # In the past: refused, and nothing changes.
    past = format_timestamp(now - timedelta(minutes=1))
    error = assert_error(
        await patch_post(client, tenant, post["id"], scheduledFor=past), 422, "unprocessable"
    )
    assert error["details"] == {"field": "scheduledFor"}
    too_long = await patch_post(client, tenant, post["id"], content="x" * 100_001)
    assert "content" in assert_error(too_long, 413, "payload_too_large")["message"]
    assert_error(
        await patch_post(client, tenant, post["id"], status="published"), 400, "invalid_request"
    )
    assert_error(
        await patch_post(client, tenant, post["id"], content="a\x00b"), 400, "invalid_request"
    )
    assert await read_post(client, tenant, post["id"]) == edited

    # null unschedules back to a draft.
    unscheduled = (await patch_post(client, tenant, post["id"], scheduledFor=None)).json()["data"]
    assert (unscheduled["status"], unscheduled["scheduledAt"]) == ("draft", None)
    assert unscheduled["content"] == "v2"
    assert await read_post(client, tenant, post["id"]) == unscheduled
