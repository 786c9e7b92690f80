from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base


class Project(Base):
    """A project: what posts are written for, and the voice they are written in."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("type IN ('PERSONAL_BRAND', 'COMPANY_PAGE')", name="type"),
        CheckConstraint("status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'ERROR')", name="status"),
        # Keyset pagination: newest first within a workspace.
        Index(
            "ix_projects_workspace_created",
            "workspace_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(Text, default=None)
    # Tone of voice: {"description": str, "formality": 1-5, "emoji": "none|light|heavy",
    # "person": "first|third", "hashtagCount": 0-5}.
    voice_profile: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    # Example posts the author wrote (strings).
    voice_samples: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    # [{"name": str, "description": str}].
    content_pillars: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, server_default=text("'[]'")
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
