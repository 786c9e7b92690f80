from __future__ import annotations

import httpx

from tests.cli.conftest import Cli
from tests.factories import Factory


async def test_spend_show_reports_the_bucket_and_the_ledger(
    cli: Cli, client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    submitted = await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"text": "Ledger check."}},
    )
    job_id = submitted.json()["data"]["id"]
    cancelled = await client.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers)
    assert cancelled.status_code == 200
    await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"text": "Still reserved."}},
    )
    shown = (await cli("spend", "show", "--workspace", tenant.workspace.id)).assert_ok()
    assert "spent 5¢ of 2000¢ = 0¢ actual + 5¢ reserved" in shown.stdout
    assert job_id in shown.stdout
    assert "CANCELLED" in shown.stdout


async def test_spend_show_of_an_unknown_workspace_is_one_line(cli: Cli) -> None:
    (await cli("spend", "show", "--workspace", "org_nope")).assert_one_line_error("org_nope")
