from __future__ import annotations

from scripe_api.settings import Settings
from tests.cli.conftest import Cli
from tests.factories import Factory
from tests.webhooks.receiver import receiving
from tests.webhooks.support import create_endpoint, create_note, service, wait_for_deliveries


async def test_list_endpoints_tail_deliveries_and_redeliver(
    cli: Cli, settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    async with receiving() as receiver, service(settings) as client:
        endpoint = await create_endpoint(client, tenant, receiver.url, ["note.created"])
        await create_note(client, tenant, project.id)
        (delivery,) = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")

        listed = (
            await cli("webhooks", "endpoints", "--workspace", tenant.workspace.id)
        ).assert_ok()
        assert endpoint["id"] in listed.stdout
        assert endpoint["secret"] not in listed.stdout + listed.stderr
        shown = (await cli("webhooks", "deliveries", "--endpoint", endpoint["id"])).assert_ok()
        assert delivery["id"] in shown.stdout
        assert "succeeded" in shown.stdout

        (await cli("webhooks", "redeliver", delivery["id"])).assert_ok()
        requests = await receiver.wait_for(lambda got: len(got) >= 2)
        assert requests[0].webhook_id == requests[1].webhook_id

    (await cli("webhooks", "redeliver", "whd_nope")).assert_one_line_error("whd_nope")
    (await cli("webhooks", "deliveries", "--endpoint", "whe_nope")).assert_one_line_error(
        "whe_nope"
    )
