"""`scripe-api projects …`: create (with a voice), list, show.

Projects are read-only over the API; their voice (profile, samples, pillars) is managed here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer

from scripe_api.cli.connection import admin_session, target_settings
from scripe_api.cli.options import DATA_DIR_DEFAULT, DataDirOption, checked_name
from scripe_api.cli.output import fields, say, table, when
from scripe_api.cli.voice_input import VoiceFlags, build_voice, load_voice_file
from scripe_api.db.models import Project
from scripe_api.projects import service
from scripe_api.projects.voice import ContentPillar, ProjectVoice, VoiceProfile
from scripe_api.settings import Settings

app = typer.Typer(
    help="Projects: what posts are written for, and the voice they are written in.",
    no_args_is_help=True,
)

ProjectType = Literal["PERSONAL_BRAND", "COMPANY_PAGE"]
ProjectStatus = Literal["ACTIVE", "PAUSED", "ARCHIVED", "ERROR"]
Emoji = Literal["none", "light", "heavy"]
Person = Literal["first", "third"]
WorkspaceOption = Annotated[
    str, typer.Option("--workspace", help="Workspace id (org_…).", show_default=False)
]
VOICE = "Voice (override --file)"


@app.command("create")
def create_project(
    workspace_id: WorkspaceOption,
    name: Annotated[str, typer.Option(help="Display name.", show_default=False)],
    type_: Annotated[ProjectType, typer.Option("--type", case_sensitive=False)] = "PERSONAL_BRAND",
    status: Annotated[ProjectStatus, typer.Option(case_sensitive=False)] = "ACTIVE",
    url: Annotated[str | None, typer.Option(help="Profile or page URL.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Voice document (YAML or JSON): profile, samples, pillars.",
            rich_help_panel=VOICE,
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Tone of voice in words.", rich_help_panel=VOICE)
    ] = None,
    formality: Annotated[
        int | None,
        typer.Option(min=1, max=5, help="1 casual … 5 formal.", rich_help_panel=VOICE),
    ] = None,
    emoji: Annotated[Emoji | None, typer.Option(rich_help_panel=VOICE)] = None,
    person: Annotated[Person | None, typer.Option(rich_help_panel=VOICE)] = None,
    hashtags: Annotated[
        int | None,
        typer.Option(min=0, max=5, help="Hashtags per post.", rich_help_panel=VOICE),
    ] = None,
    samples: Annotated[
        list[str] | None,
        typer.Option(
            "--sample", help="An example post; repeat for several.", rich_help_panel=VOICE
        ),
    ] = None,
    pillars: Annotated[
        list[str] | None,
        typer.Option(
            "--pillar", help='A content pillar, "Name: description"; repeat.', rich_help_panel=VOICE
        ),
    ] = None,
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Create a project with its tone of voice, example posts and content pillars."""
    name = checked_name(name)
    flags = VoiceFlags(
        description=description,
        formality=formality,
        emoji=emoji,
        person=person,
        hashtags=hashtags,
        samples=samples or [],
        pillars=pillars or [],
    )
    voice = build_voice(load_voice_file(file) if file is not None else None, flags)
    settings = target_settings(data_dir)
    project = asyncio.run(_create(settings, workspace_id, name, type_, status, url, voice))
    say(
        f"Created project {project.id} ({project.name}) in workspace {project.workspace_id}: "
        f"voice samples: {len(voice.samples)}, content pillars: {len(voice.pillars)}."
    )


async def _create(
    settings: Settings,
    workspace_id: str,
    name: str,
    type_: str,
    status: str,
    url: str | None,
    voice: ProjectVoice,
) -> Project:
    async with admin_session(settings) as session:
        return await service.create_project(
            session, workspace_id, name=name, type=type_, status=status, url=url, voice=voice
        )


@app.command("list")
def list_projects(
    workspace_id: WorkspaceOption, data_dir: DataDirOption = DATA_DIR_DEFAULT
) -> None:
    """List a workspace's projects, newest first."""
    settings = target_settings(data_dir)
    projects = asyncio.run(_list(settings, workspace_id))
    rows = [[p.id, p.name, p.type, p.status, p.url, when(p.created_at)] for p in projects]
    table(
        ["ID", "NAME", "TYPE", "STATUS", "URL", "CREATED"],
        rows,
        empty=f"Workspace {workspace_id} has no projects.",
    )


async def _list(settings: Settings, workspace_id: str) -> list[Project]:
    async with admin_session(settings) as session:
        return await service.list_workspace_projects(session, workspace_id)


@app.command("show")
def show_project(
    project_id: Annotated[str, typer.Argument(help="Project id (proj_…).", show_default=False)],
    data_dir: DataDirOption = DATA_DIR_DEFAULT,
) -> None:
    """Show a project with its voice profile, samples and content pillars."""
    settings = target_settings(data_dir)
    project = asyncio.run(_show(settings, project_id))
    fields(
        [
            ("ID", project.id),
            ("Workspace", project.workspace_id),
            ("Name", project.name),
            ("Type", project.type),
            ("Status", project.status),
            ("URL", project.url),
            ("Created", when(project.created_at)),
        ]
    )
    _show_profile(VoiceProfile.model_validate(project.voice_profile))
    _show_samples(project.voice_samples)
    _show_pillars([ContentPillar.model_validate(raw) for raw in project.content_pillars])


def _show_profile(profile: VoiceProfile) -> None:
    say("")
    say("Voice profile")
    fields(
        [
            ("Description", profile.description or None),
            ("Formality", f"{profile.formality} (1 casual … 5 formal)"),
            ("Emoji", profile.emoji),
            ("Person", profile.person),
            ("Hashtags", str(profile.hashtag_count)),
        ]
    )


def _show_samples(samples: list[str]) -> None:
    say("")
    say(f"Voice samples ({len(samples)})")
    for number, sample in enumerate(samples, start=1):
        first, *rest = sample.splitlines() or [""]
        say(f"{number:>3}. {first}")
        for line in rest:
            say(f"     {line}")


def _show_pillars(pillars: list[ContentPillar]) -> None:
    say("")
    say(f"Content pillars ({len(pillars)})")
    for pillar in pillars:
        say(
            f"  - {pillar.name}: {pillar.description}"
            if pillar.description
            else f"  - {pillar.name}"
        )


async def _show(settings: Settings, project_id: str) -> Project:
    async with admin_session(settings) as session:
        return await service.get_project_for_operator(session, project_id)
