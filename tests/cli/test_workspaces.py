from __future__ import annotations

import httpx

from tests.cli.conftest import KEY_PATTERN, Cli, id_in


def row_of(listing: str, workspace_id: str) -> list[str]:
    for line in listing.splitlines():
        if line.startswith(workspace_id):
            return line.split()
    raise AssertionError(f"{workspace_id} not listed in:\n{listing}")


async def test_create_list_set_plan_and_soft_delete(cli: Cli, client: httpx.AsyncClient) -> None:
    created = (
        await cli("workspaces", "create", "--name", "Globex", "--plan", "business")
    ).assert_ok()
    workspace_id = id_in(created.stdout, "org")
    assert "BUSINESS" in created.stdout

    listing = (await cli("workspaces", "list")).assert_ok().stdout
    assert row_of(listing, workspace_id)[1:3] == ["Globex", "BUSINESS"]

    key = KEY_PATTERN.search(
        (await cli("keys", "create", "--workspace", workspace_id)).assert_ok().stdout
    )
    assert key is not None
    headers = {"Authorization": f"Bearer {key.group(0)}"}
    assert (await client.get("/v1/workspaces/me", headers=headers)).status_code == 200

    moved = (await cli("workspaces", "set-plan", workspace_id, "SOLO")).assert_ok()
    assert "SOLO" in moved.stdout
    assert row_of((await cli("workspaces", "list")).stdout, workspace_id)[2] == "SOLO"
    refused = await client.get("/v1/workspaces/me", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "plan_not_eligible"

    (await cli("workspaces", "delete", workspace_id)).assert_ok()
    assert workspace_id not in (await cli("workspaces", "list")).stdout
    assert workspace_id in (await cli("workspaces", "list", "--all")).stdout
    gone = await client.get("/v1/workspaces/me", headers=headers)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "invalid_token"

    (await cli("workspaces", "delete", workspace_id)).assert_one_line_error(workspace_id)


async def test_names_print_as_given(cli: Cli) -> None:
    """Names are data, not markup: brackets survive the table."""
    created = (await cli("workspaces", "create", "--name", "Acme [bold]R&D[/]")).assert_ok()
    workspace_id = id_in(created.stdout, "org")
    listing = (await cli("workspaces", "list")).stdout
    assert f"{workspace_id}  Acme [bold]R&D[/]" in listing


async def test_bad_input_is_one_line(cli: Cli) -> None:
    await cli.assert_each_fails(
        [
            (("workspaces", "create", "--name", "X", "--plan", "GOLD"), "--plan"),
            (("workspaces", "create", "--name", "  "), "--name"),
            (("workspaces", "create"), "--name"),
            (("workspaces", "set-plan", "org_missing", "FREE"), "org_missing"),
            (("workspaces", "frobnicate"), "frobnicate"),
        ]
    )
