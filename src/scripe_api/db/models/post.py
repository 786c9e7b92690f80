from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base

POST_STATUSES = (
    "waitingProcessing",
    "draft",
    "waitingApproval",
    "approved",
    "rejected",
    "scheduled",
    "published",
    "suggested",
)
CONTENT_TYPES = ("PERSONAL", "BUSINESS_INTERNAL", "BUSINESS_EXTERNAL", "EDUCATIONAL", "UNKNOWN")


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(f"status IN {POST_STATUSES!r}", name="status"),
        CheckConstraint(f"content_type IN {CONTENT_TYPES!r}", name="content_type"),
        Index(
            "ix_posts_workspace_project_created",
            "workspace_id",
            "project_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # The generation job that wrote it. Unique: a job can never create two posts, whatever
    # happens to its attempts.
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), unique=True, default=None
    )
    status: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(20), default="LINKEDIN")
    content_type: Mapped[str] = mapped_column(String(20), default="UNKNOWN")
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    content: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utc_now)
