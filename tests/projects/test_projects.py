from __future__ import annotations

import re

import httpx
import pytest

from scripe_api.core.clock import format_timestamp
from tests.assertions import assert_error
from tests.factories import Factory

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


async def test_list_and_get_projects(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    response = await client.get("/v1/projects", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["data"]] == [project.id]
    assert body["pagination"] == {"next_cursor": None, "has_more": False}
    one = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
    assert one.status_code == 200
    assert one.json()["data"]["createdAt"].endswith("Z")


async def test_project_fields_are_camel_case_with_ms_timestamps(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id, name="Company page", status="PAUSED")
    listed = (await client.get("/v1/projects", headers=tenant.headers)).json()["data"][0]
    one = (await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)).json()
    assert set(one) == {"data"}
    assert listed == one["data"]
    assert one["data"] == {
        "id": project.id,
        "name": "Company page",
        "type": "PERSONAL_BRAND",
        "status": "PAUSED",
        "url": None,
        "createdAt": format_timestamp(project.created_at),
    }
    assert TIMESTAMP.fullmatch(one["data"]["createdAt"])
    assert project.id.startswith("proj_")


async def test_internal_voice_is_never_exposed(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    response = await client.get(f"/v1/projects/{project.id}", headers=tenant.headers)
    for internal in ("voice", "pillar", "sample", "Engineering culture", "workspace"):
        assert internal not in response.text


@pytest.mark.smoke
async def test_projects_of_another_workspace_are_invisible(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine = await factory.tenant()
    theirs = await factory.tenant()
    my_project = await factory.project(mine.workspace.id)
    their_project = await factory.project(theirs.workspace.id)
    response = await client.get(f"/v1/projects/{their_project.id}", headers=mine.headers)
    error = assert_error(response, 404, "not_found")
    assert "workspace" not in error["message"].lower()
    listed = (await client.get("/v1/projects", headers=mine.headers)).json()
    assert [item["id"] for item in listed["data"]] == [my_project.id]


@pytest.mark.parametrize("project_id", ["proj_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D", "nope", "' OR 1=1 --"])
async def test_unknown_project_is_not_found(
    client: httpx.AsyncClient, factory: Factory, project_id: str
) -> None:
    tenant = await factory.tenant()
    response = await client.get(f"/v1/projects/{project_id}", headers=tenant.headers)
    assert_error(response, 404, "not_found")


async def test_empty_workspace_lists_nothing(client: httpx.AsyncClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    response = await client.get("/v1/projects", headers=tenant.headers)
    assert response.json() == {"data": [], "pagination": {"next_cursor": None, "has_more": False}}
