"""§4.4 `GET /v1/jobs`: filters by type, status and creation date; keyset pages, newest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.core.clock import utc_now
from scripe_api.core.ids import new_id
from scripe_api.db.models import Job
from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import submit_generation


async def list_jobs(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/jobs", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed_ids(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    body = await list_jobs(client, tenant, limit=200, **params)
    assert body["pagination"] == {"next_cursor": None, "has_more": False}
    return [job["id"] for job in body["data"]]


def newest_first(jobs: list[dict[str, Any]]) -> list[str]:
    return [
        job["id"] for job in sorted(jobs, key=lambda j: (j["createdAt"], j["id"]), reverse=True)
    ]


async def ingest_job(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> str:
    """A finished KB_INGEST_TEXT job (nothing submits those over this API yet)."""
    now = utc_now()
    job = Job(
        id=new_id("job"),
        workspace_id=tenant.workspace.id,
        type="KB_INGEST_TEXT",
        status="DONE",
        key_mode="live",
        input={},
        result={"documentId": "kb_x"},
        attempt_count=1,
        started_at=now,
        completed_at=now,
    )
    async with sessionmaker() as session, session.begin():
        session.add(job)
    return job.id


async def test_status_and_type_filters(
    client: httpx.AsyncClient,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    jobs = [await submit_generation(client, tenant, project.id) for _ in range(4)]
    cancelled = [jobs[0]["id"], jobs[2]["id"]]
    for job_id in cancelled:
        response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers)
        assert response.status_code == 200, response.text
    ingest = await ingest_job(sessionmaker, tenant)
    generations = newest_first(jobs)
    queued = [job_id for job_id in generations if job_id not in cancelled]

    assert await listed_ids(client, tenant) == [ingest, *generations]
    assert await listed_ids(client, tenant, status="CANCELLED") == cancelled[::-1]
    assert await listed_ids(client, tenant, status="QUEUED") == queued
    assert await listed_ids(client, tenant, status="QUEUED,CANCELLED") == generations
    assert await listed_ids(client, tenant, status="RUNNING,FAILED") == []
    assert await listed_ids(client, tenant, type="KB_INGEST_TEXT") == [ingest]
    assert await listed_ids(client, tenant, type="POST_GENERATION") == generations
    assert await listed_ids(client, tenant, type="POST_GENERATION,KB_INGEST_TEXT") == [
        ingest,
        *generations,
    ]
    assert await listed_ids(client, tenant, type="POST_GENERATION", status="DONE") == []
    # Empty, like every other empty query parameter: no filter.
    assert await listed_ids(client, tenant, type="", status="") == [ingest, *generations]
    for params in (
        {"status": "BOGUS"},
        {"status": "QUEUED,BOGUS"},
        {"status": "queued"},
        {"type": "POST"},
        {"type": ","},
    ):
        response = await client.get("/v1/jobs", headers=tenant.headers, params=params)
        error = assert_error(response, 400, "invalid_request")
        assert error["details"] == {"field": next(iter(params))}


async def test_date_filters(
    client: httpx.AsyncClient,
    factory: Factory,
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    jobs = [await submit_generation(client, tenant, project.id) for _ in range(4)]
    everything = newest_first(jobs)
    created = sorted(datetime.fromisoformat(job["createdAt"]) for job in jobs)
    first_day, last_day = created[0].date(), created[-1].date()

    assert (
        await listed_ids(
            client, tenant, dateFrom=first_day.isoformat(), dateTo=last_day.isoformat()
        )
        == everything
    )
    assert (
        await listed_ids(client, tenant, dateTo=(first_day - timedelta(days=1)).isoformat()) == []
    )
    assert (
        await listed_ids(client, tenant, dateFrom=(last_day + timedelta(days=1)).isoformat()) == []
    )

    # Timestamps are inclusive at both ends, whatever offset they are written in.
    low, high = created[1], created[2]
    expected = [
        job["id"]
        for job in sorted(jobs, key=lambda j: (j["createdAt"], j["id"]), reverse=True)
        if low <= datetime.fromisoformat(job["createdAt"]) <= high
    ]
    assert len(expected) >= 2
    plus_two = timezone(timedelta(hours=2))
    for start, end in (
        (low.isoformat(), high.isoformat()),
        (low.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", high.astimezone(UTC).isoformat()),
        (low.astimezone(plus_two).isoformat(), high.astimezone(plus_two).isoformat()),
    ):
        assert await listed_ids(client, tenant, dateFrom=start, dateTo=end) == expected

    for params, field in (
        ({"dateFrom": "2026-05-15T08:00:00"}, "dateFrom"),
        ({"dateTo": "2026-05-15T08:00:00"}, "dateTo"),
        ({"dateFrom": "15/05/2026"}, "dateFrom"),
        ({"dateTo": "2026-13-01"}, "dateTo"),
        ({"dateFrom": "2026-05-16", "dateTo": "2026-05-15"}, "dateFrom"),
        ({"dateFrom": "2026-05-15T08:00:01Z", "dateTo": "2026-05-15T08:00:00Z"}, "dateFrom"),
    ):
        response = await client.get("/v1/jobs", headers=tenant.headers, params=params)
        error = assert_error(response, 400, "invalid_request")
        assert error["details"] == {"field": field}, params
    # A single day is a valid range.
    day = date(2026, 5, 15).isoformat()
    assert await listed_ids(client, tenant, dateFrom=day, dateTo=day) == []


async def test_pages_cover_every_job_once(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    jobs = [await submit_generation(client, tenant, project.id) for _ in range(7)]
    await submit_generation(client, other, (await factory.project(other.workspace.id)).id)
    pages = [await list_jobs(client, tenant, limit=3)]
    while pages[-1]["pagination"]["has_more"]:
        assert len(pages) < 10
        cursor = pages[-1]["pagination"]["next_cursor"]
        pages.append(await list_jobs(client, tenant, limit=3, cursor=cursor))
    assert [len(page["data"]) for page in pages] == [3, 3, 1]
    assert pages[-1]["pagination"] == {"next_cursor": None, "has_more": False}
    ids = [job["id"] for page in pages for job in page["data"]]
    assert ids == newest_first(jobs)
    assert all(job["progress"] is None for page in pages for job in page["data"])

    cursor = pages[0]["pagination"]["next_cursor"]
    for params in ({"status": "QUEUED"}, {"type": "POST_GENERATION"}, {"dateFrom": "2020-01-01"}):
        response = await client.get(
            "/v1/jobs", headers=tenant.headers, params={"cursor": cursor, "limit": 3, **params}
        )
        assert_error(response, 400, "bad_cursor")
    # Another workspace cannot continue this workspace's list.
    response = await client.get("/v1/jobs", headers=other.headers, params={"cursor": cursor})
    assert_error(response, 400, "bad_cursor")


@pytest.mark.parametrize(
    ("params", "everything"),
    [
        ({"dateTo": "9999-12-31"}, True),
        ({"dateTo": "9999-12-31T23:59:59.999Z"}, True),
        ({"dateTo": "9999-12-31T23:59:59-23:59"}, True),
        ({"dateFrom": "0001-01-01"}, True),
        ({"dateFrom": "0001-01-01T00:00:00+23:59"}, True),
        ({"dateFrom": "9999-12-31T23:59:59-23:59"}, False),
        ({"dateTo": "0001-01-01T00:00:00+23:59"}, False),
        ({"dateFrom": "0001-01-01T00:00:00+23:59", "dateTo": "9999-12-31T23:59:59-23:59"}, True),
    ],
    ids=lambda value: str(value),
)
async def test_bounds_at_the_calendars_edges_are_clamped_not_errors(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, str], everything: bool
) -> None:
    """Bounds past year 9999 or before year 1 once in UTC hold every job, or none."""
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    job = await submit_generation(client, tenant, project.id)
    assert await listed_ids(client, tenant, **params) == ([job["id"]] if everything else [])
