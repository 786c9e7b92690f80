"""Factories: each test builds its own workspace, keys and projects through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth import management
from scripe_api.auth.keys import ALL_SCOPES, KeyMode
from scripe_api.db.models import Project, Workspace
from scripe_api.projects import service as projects
from scripe_api.projects.voice import ContentPillar, ProjectVoice, VoiceProfile
from scripe_api.settings import Settings
from scripe_api.workspaces import service as workspaces


@dataclass
class Tenant:
    workspace: Workspace
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Factory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def workspace(self, plan: str = "ADVANCED", name: str = "Acme") -> Workspace:
        async with self.sessionmaker() as session, session.begin():
            return await workspaces.create_workspace(session, name, plan)

    async def key(
        self,
        workspace_id: str,
        scopes: tuple[str, ...] = ALL_SCOPES,
        *,
        mode: KeyMode = "live",
        expires_at: datetime | None = None,
    ) -> management.CreatedKey:
        async with self.sessionmaker() as session, session.begin():
            return await management.create_key(
                session,
                self.settings,
                workspace_id,
                name="test key",
                scopes=scopes,
                mode=mode,
                expires_at=expires_at,
            )

    async def tenant(
        self, plan: str = "ADVANCED", scopes: tuple[str, ...] = ALL_SCOPES, mode: KeyMode = "live"
    ) -> Tenant:
        workspace = await self.workspace(plan)
        created = await self.key(workspace.id, scopes, mode=mode)
        return Tenant(workspace=workspace, key=created.secret, key_id=created.key.id)

    async def project(
        self, workspace_id: str, name: str = "Founder brand", status: str = "ACTIVE"
    ) -> Project:
        async with self.sessionmaker() as session, session.begin():
            return await projects.create_project(
                session, workspace_id, name=name, status=status, voice=_voice()
            )

    async def many_projects(self, workspace_id: str, count: int) -> list[Project]:
        """`count` projects in one transaction (many share a millisecond: ids break the tie)."""
        async with self.sessionmaker() as session, session.begin():
            return [
                await projects.create_project(
                    session, workspace_id, name=f"Project {number}", voice=_voice()
                )
                for number in range(count)
            ]


def _voice() -> ProjectVoice:
    return ProjectVoice(
        profile=VoiceProfile(description="direct, warm, no jargon", hashtag_count=2),
        samples=["Shipping beats polishing.\n\nWe learned that the hard way."],
        pillars=[ContentPillar(name="Engineering culture", description="How teams ship")],
    )
