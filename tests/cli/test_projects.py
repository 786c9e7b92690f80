from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.conftest import KEY_PATTERN, Cli, id_in
from tests.factories import Factory

VOICE_FILE = """\
profile:
  description: calm, precise, a little dry
  formality: 4
  emoji: none
  person: third
  hashtagCount: 0
samples:
  - |-
    Acme ships a new release every Tuesday.
    This week: faster exports.
pillars:
  - name: Product updates
    description: What changed and why it matters
"""


async def test_create_with_flags_then_show(cli: Cli, factory: Factory) -> None:
    workspace = await factory.workspace()
    created = await cli(
        "projects", "create",
        "--workspace", workspace.id,
        "--name", "Founder brand",
        "--url", "https://www.linkedin.com/in/founder",
        "--description", "direct, warm, no jargon",
        "--formality", "2",
        "--emoji", "light",
        "--person", "first",
        "--hashtags", "1",
        "--sample", "We shipped on Tuesday.\nThree customers used it before lunch.",
        "--sample", "Hiring lesson: ask about boring work.",
        "--pillar", "Engineering culture: how small teams ship",
        "--pillar", "Hiring",
    )  # fmt: skip
    created.assert_ok()
    project_id = id_in(created.stdout, "proj")

    listing = (await cli("projects", "list", "--workspace", workspace.id)).assert_ok().stdout
    row = next(line for line in listing.splitlines() if line.startswith(project_id)).split()
    assert row[1:6] == [
        "Founder",
        "brand",
        "PERSONAL_BRAND",
        "ACTIVE",
        "https://www.linkedin.com/in/founder",
    ]

    shown = (await cli("projects", "show", project_id)).assert_ok().stdout
    for expected in (
        "direct, warm, no jargon",
        "2 (1 casual … 5 formal)",
        "light",
        "Voice samples (2)",
        "  1. We shipped on Tuesday.",
        "     Three customers used it before lunch.",
        "  2. Hiring lesson: ask about boring work.",
        "Content pillars (2)",
        "  - Engineering culture: how small teams ship",
        "  - Hiring",
    ):
        assert expected in shown, expected


async def test_create_from_a_voice_file_with_overrides(
    cli: Cli, factory: Factory, tmp_path: Path
) -> None:
    workspace = await factory.workspace()
    voice = tmp_path / "voice.yaml"
    voice.write_text(VOICE_FILE)
    created = await cli(
        "projects", "create",
        "--workspace", workspace.id,
        "--name", "Acme",
        "--type", "company_page",
        "--status", "PAUSED",
        "--file", str(voice),
        "--hashtags", "3",
        "--sample", "One more from the flags.",
    )  # fmt: skip
    project_id = id_in(created.assert_ok().stdout, "proj")
    shown = (await cli("projects", "show", project_id)).assert_ok().stdout
    assert "COMPANY_PAGE" in shown
    assert "PAUSED" in shown
    assert "calm, precise, a little dry" in shown
    assert "Person       third" in shown
    assert "Hashtags     3" in shown  # the flag overrides the file
    assert "Voice samples (2)" in shown
    assert "     This week: faster exports." in shown
    assert "  2. One more from the flags." in shown
    assert "  - Product updates: What changed and why it matters" in shown


async def test_created_project_is_visible_over_the_api(cli: Cli, client: httpx.AsyncClient) -> None:
    workspace_id = id_in((await cli("workspaces", "create", "--name", "Initech")).stdout, "org")
    key = KEY_PATTERN.search((await cli("keys", "create", "--workspace", workspace_id)).stdout)
    assert key is not None
    project_id = id_in(
        (await cli("projects", "create", "--workspace", workspace_id, "--name", "TPS")).stdout,
        "proj",
    )
    response = await client.get(
        f"/v1/projects/{project_id}", headers={"Authorization": f"Bearer {key.group(0)}"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "TPS"


async def test_bad_project_input_is_one_line(cli: Cli, factory: Factory, tmp_path: Path) -> None:
    workspace = await factory.workspace()
    broken = tmp_path / "broken.yaml"
    broken.write_text("profile: [\n")
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"profile": {"formality": 9}}')
    create = ("projects", "create", "--workspace", workspace.id, "--name", "X")
    await cli.assert_each_fails(
        [
            ((*create, "--formality", "9"), "--formality"),
            ((*create, "--emoji", "lots"), "--emoji"),
            ((*create, "--pillar", ": no name"), "--pillar"),
            ((*create, "--sample", " "), "--sample"),
            ((*create, "--file", str(tmp_path / "missing.yaml")), "missing.yaml"),
            ((*create, "--file", str(broken)), "broken.yaml"),
            ((*create, "--file", str(invalid)), "invalid.json: profile.formality"),
            (("projects", "create", "--workspace", "org_missing", "--name", "X"), "org_missing"),
            (("projects", "show", "proj_missing"), "proj_missing"),
        ]
    )
    listing = (await cli("projects", "list", "--workspace", workspace.id)).assert_ok()
    assert listing.stdout.strip() == f"Workspace {workspace.id} has no projects."
