"""The demo data `scripe-api dev` creates on its first run: a workspace, a project, a key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.auth import management
from scripe_api.auth.keys import ALL_SCOPES
from scripe_api.projects import service as projects
from scripe_api.projects.voice import ContentPillar, ProjectVoice, VoiceProfile
from scripe_api.settings import Settings
from scripe_api.workspaces import service as workspaces

DEMO_VOICE = ProjectVoice(
    profile=VoiceProfile(
        description="Direct and warm, concrete over clever, no jargon. Short paragraphs.",
        formality=2,
        emoji="light",
        person="first",
        hashtag_count=2,
    ),
    samples=[
        "We shipped the smallest version of the feature on Tuesday.\n\n"
        "Three customers used it before lunch. Two of them asked for the same change. "
        "That is the whole roadmap for next week.",
        "Hiring lesson I keep relearning: the best signal is how someone talks about the "
        "work they did not enjoy.\n\nThe candidates who can explain a boring migration "
        "clearly are the ones who finish things.",
        "Our on-call rotation used to be a badge of honour. Now it is a metric we try to "
        "drive to zero pages a week. Fewer heroes, more sleep, better software.",
    ],
    pillars=[
        ContentPillar(name="Building in public", description="What we ship and what we learn"),
        ContentPillar(name="Engineering culture", description="How small teams work well"),
        ContentPillar(name="Founder lessons", description="Hiring, focus, and saying no"),
    ],
)


@dataclass(frozen=True)
class Seeded:
    workspace_id: str
    project_id: str
    key_secret: str


async def seed_demo(session: AsyncSession, settings: Settings) -> Seeded | None:
    """Create the demo data when the database has no workspace at all; None otherwise."""
    if await workspaces.list_workspaces(session, include_deleted=True):
        return None
    workspace = await workspaces.create_workspace(session, "Demo workspace", "ADVANCED")
    project = await projects.create_project(
        session,
        workspace.id,
        name="Demo founder brand",
        type="PERSONAL_BRAND",
        url="https://www.linkedin.com/in/demo-founder",
        voice=DEMO_VOICE,
    )
    created = await management.create_key(
        session, settings, workspace.id, name="dev (seeded)", scopes=ALL_SCOPES
    )
    return Seeded(workspace_id=workspace.id, project_id=project.id, key_secret=created.secret)


async def first_workspace_id(session: AsyncSession) -> str | None:
    """The oldest live workspace: the one later `dev` starts point `keys create` at."""
    live = await workspaces.list_workspaces(session)
    return live[-1].id if live else None
