"""INGEST.md §4: the fields real clients send with a note — `date` and `contentType` give it a
calendar slot, `folderId` may only be null — and the list's `folderId`, `dateFrom` and `dateTo`
(on the slot's date, or `createdAt` without a slot), page after page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.assertions import assert_error
from tests.factories import Factory, Tenant
from tests.jobs.calls import send_json


@pytest.fixture
async def tenant(factory: Factory) -> Tenant:
    return await factory.tenant()


@pytest.fixture
async def project_id(factory: Factory, tenant: Tenant) -> str:
    return (await factory.project(tenant.workspace.id)).id


async def create_note(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"projectId": project_id, "content": "An idea.", **fields}
    response = await client.post("/v1/notes", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()["data"]
    return note


async def list_notes(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str, **params: Any
) -> list[dict[str, Any]]:
    """Every page of the list under `params` (with their `limit`), checked to end."""
    query = {"projectId": project_id, **params}
    notes: list[dict[str, Any]] = []
    while True:
        response = await client.get("/v1/notes", headers=tenant.headers, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        notes.extend(page["data"])
        if not page["pagination"]["has_more"]:
            assert page["pagination"]["next_cursor"] is None
            return notes
        query["cursor"] = page["pagination"]["next_cursor"]


async def test_a_date_gives_the_note_a_slot_in_utc(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    note = await create_note(client, tenant, project_id, date="2026-05-20T09:00:00.123456+02:00")
    slot = note["slot"]
    assert set(slot) == {"id", "date", "contentType"}
    assert slot["id"].startswith("slot_")
    # Rendered like every timestamp: UTC, milliseconds, `Z`.
    assert slot["date"] == "2026-05-20T07:00:00.123Z"
    assert slot["contentType"] is None
    assert note["folderId"] is None
    read = await client.get(f"/v1/notes/{note['id']}", headers=tenant.headers)
    assert read.json() == {"data": note}


async def test_a_content_type_alone_gives_a_slot_dated_at_creation(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    note = await create_note(client, tenant, project_id, contentType="EDUCATIONAL")
    assert note["slot"]["id"].startswith("slot_")
    assert note["slot"]["date"] == note["createdAt"]
    assert note["slot"]["contentType"] == "EDUCATIONAL"


async def test_date_and_content_type_make_one_slot(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    first = await create_note(
        client, tenant, project_id, date="2027-01-04T08:30:00Z", contentType="BUSINESS_EXTERNAL"
    )
    second = await create_note(
        client, tenant, project_id, date="2027-01-04T08:30:00Z", contentType="BUSINESS_EXTERNAL"
    )
    assert first["slot"]["date"] == "2027-01-04T08:30:00.000Z"
    assert first["slot"]["contentType"] == "BUSINESS_EXTERNAL"
    # Each note has its own slot.
    assert first["slot"]["id"] != second["slot"]["id"]
    listed = await list_notes(client, tenant, project_id)
    assert listed == [second, first]


async def test_neither_field_means_no_slot_and_null_folder_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    plain = await create_note(client, tenant, project_id)
    nulls = await create_note(
        client, tenant, project_id, folderId=None, date=None, contentType=None
    )
    for note in (plain, nulls):
        assert note["slot"] is None
        assert note["folderId"] is None


async def test_bad_slot_fields_are_refused_and_create_nothing(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        # A date needs its UTC offset; a date alone is not a date-time.
        ({"date": "2026-05-20T09:00:00"}, 400, "invalid_request", "date"),
        ({"date": "2026-05-20"}, 400, "invalid_request", "date"),
        ({"date": "next monday"}, 400, "invalid_request", "date"),
        ({"date": "9999-12-31T23:00:00-05:00"}, 400, "invalid_request", "date"),
        ({"folderId": 7}, 400, "invalid_request", "folderId"),
        ({"slot": {"date": "2026-05-20T09:00:00Z"}}, 400, "invalid_request", "slot"),
        # Well-formed but outside the enum (in a body): a rule, not a shape.
        ({"contentType": "TWEET"}, 422, "unprocessable", "contentType"),
        ({"contentType": "personal"}, 422, "unprocessable", "contentType"),
        # Folders are not managed over the API: none can be named.
        ({"folderId": "fld_123"}, 422, "unprocessable", "folderId"),
        ({"folderId": ""}, 422, "unprocessable", "folderId"),
    ]
    for fields, status, code, field in cases:
        body = {"projectId": project_id, "content": "x", **fields}
        response = await send_json(client, "POST", "/v1/notes", tenant.headers, body)
        error = assert_error(response, status, code)
        assert error["details"] == {"field": field}, fields
    assert await list_notes(client, tenant, project_id) == []


async def test_an_unknown_project_is_found_missing_before_the_folder(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"projectId": "proj_unknown", "content": "x", "folderId": "fld_1"}
    response = await client.post("/v1/notes", headers=tenant.headers, json=body)
    assert_error(response, 404, "not_found")


async def test_date_filters_use_the_slot_date_or_else_created_at(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    unslotted = await create_note(client, tenant, project_id)
    in_2020 = await create_note(client, tenant, project_id, date="2020-01-10T12:00:00+01:00")
    in_2030 = await create_note(client, tenant, project_id, date="2030-06-01T00:00:00Z")
    typed = await create_note(client, tenant, project_id, contentType="PERSONAL")
    newest_first = [typed, in_2030, in_2020, unslotted]
    assert await list_notes(client, tenant, project_id) == newest_first

    cases: list[tuple[dict[str, str], list[dict[str, Any]]]] = [
        # Created today, but slotted in 2020: found by its slot date only.
        ({"dateFrom": "2020-01-01", "dateTo": "2020-12-31"}, [in_2020]),
        ({"dateTo": "2021-01-01"}, [in_2020]),
        ({"dateFrom": "2030-01-01"}, [in_2030]),
        # While these notes were created: the one without a slot (by its createdAt) and the
        # one slotted at its creation, not the two created meanwhile but slotted elsewhere.
        ({"dateFrom": unslotted["createdAt"], "dateTo": typed["createdAt"]}, [typed, unslotted]),
        ({"dateFrom": unslotted["createdAt"]}, [typed, in_2030, unslotted]),
        # Instants are inclusive at both ends, at millisecond precision.
        (
            {"dateFrom": "2020-01-10T11:00:00Z", "dateTo": "2020-01-10T11:00:00Z"},
            [in_2020],
        ),
        ({"dateFrom": "2020-01-10T11:00:00.001Z"}, [typed, in_2030, unslotted]),
        ({"dateTo": "2020-01-10T10:59:59.999Z"}, []),
        ({"dateFrom": "2031-01-01"}, []),
    ]
    for params, expected in cases:
        assert await list_notes(client, tenant, project_id, **params) == expected, params


async def test_bad_date_filters_are_invalid_requests(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    cases: list[tuple[dict[str, str], str]] = [
        ({"dateFrom": "yesterday"}, "dateFrom"),
        ({"dateTo": "2026-13-01"}, "dateTo"),
        ({"dateFrom": "2026-05-20T09:00:00"}, "dateFrom"),
        ({"dateFrom": "2026-05-21", "dateTo": "2026-05-20"}, "dateFrom"),
    ]
    for params, field in cases:
        response = await client.get(
            "/v1/notes", headers=tenant.headers, params={"projectId": project_id, **params}
        )
        assert assert_error(response, 400, "invalid_request")["details"] == {"field": field}


async def test_a_folder_filter_finds_no_note(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    notes = [await create_note(client, tenant, project_id, contentType="PERSONAL")]
    notes.insert(0, await create_note(client, tenant, project_id))
    # No note is in a folder (folders are not managed over the API).
    response = await client.get(
        "/v1/notes", headers=tenant.headers, params={"projectId": project_id, "folderId": "fld_1"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": [], "pagination": {"next_cursor": None, "has_more": False}}
    # An empty folderId is no filter, like every empty query parameter.
    assert await list_notes(client, tenant, project_id, folderId="") == notes
    # The project is still looked up.
    response = await client.get(
        "/v1/notes", headers=tenant.headers, params={"projectId": "proj_x", "folderId": "fld_1"}
    )
    assert_error(response, 404, "not_found")


async def test_pages_follow_the_filter_they_were_issued_for(
    client: httpx.AsyncClient, tenant: Tenant, project_id: str
) -> None:
    slotted = [
        await create_note(client, tenant, project_id, date=f"2021-03-0{day}T10:00:00Z")
        for day in range(1, 6)
    ]
    for _ in range(3):
        await create_note(client, tenant, project_id)
    in_2021 = {"dateFrom": "2021-01-01", "dateTo": "2021-12-31"}

    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"projectId": project_id, "limit": 2, **in_2021}
    while True:
        response = await client.get("/v1/notes", headers=tenant.headers, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json()["data"])
        if not response.json()["pagination"]["has_more"]:
            break
        cursor = response.json()["pagination"]["next_cursor"]
        params["cursor"] = cursor
    # Newest created first, only the 2021 slots, and each once.
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [note for page in pages for note in page] == slotted[::-1]

    # A cursor belongs to its filters: not to the unfiltered list, nor to other dates or a
    # folder; the same filters with another page size continue it.
    for other in (
        {},
        {"dateFrom": "2021-01-01"},
        {**in_2021, "dateTo": "2022-12-31"},
        {**in_2021, "folderId": "fld_1"},
    ):
        response = await client.get(
            "/v1/notes",
            headers=tenant.headers,
            params={"projectId": project_id, "cursor": cursor, **other},
        )
        assert_error(response, 400, "bad_cursor")
    response = await client.get(
        "/v1/notes",
        headers=tenant.headers,
        params={"projectId": project_id, "cursor": cursor, "limit": 10, **in_2021},
    )
    assert response.json()["data"] == pages[-1]

    # And the unfiltered list's cursor is not the filtered list's.
    first = await client.get(
        "/v1/notes", headers=tenant.headers, params={"projectId": project_id, "limit": 1}
    )
    unfiltered_cursor = first.json()["pagination"]["next_cursor"]
    response = await client.get(
        "/v1/notes",
        headers=tenant.headers,
        params={"projectId": project_id, "cursor": unfiltered_cursor, **in_2021},
    )
    assert_error(response, 400, "bad_cursor")
