from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base

JOB_TYPES = (
    "POST_GENERATION",
    "KB_INGEST_TEXT",
    "KB_INGEST_FILE",
    "KB_INGEST_URL",
    "KB_INGEST_YOUTUBE",
    "SOURCE_INGEST_FILE",
)
JOB_STATUSES = ("QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED")


class Job(Base):
    """An async job. Status changes are compare-and-set; the attempt holding the lease owns it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"type IN {JOB_TYPES!r}", name="type"),
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status"),
        CheckConstraint("key_mode IN ('live', 'test')", name="key_mode"),
        # Keyset pagination, newest first within a workspace.
        Index(
            "ix_jobs_workspace_created", "workspace_id", text("created_at DESC"), text("id DESC")
        ),
        # The sweep: RUNNING leases that expired, QUEUED jobs whose enqueue may be lost.
        Index(
            "ix_jobs_unfinished",
            "status",
            "lease_expires_at",
            postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
        ),
        # The sweep: QUEUED jobs past their `Cancel-After` deadline.
        Index(
            "ix_jobs_queued_deadline",
            "deadline_at",
            postgresql_where=text("status = 'QUEUED' AND deadline_at IS NOT NULL"),
        ),
        # estimatedCompletionMs: the latest DONE jobs of a type.
        Index(
            "ix_jobs_done_by_type",
            "type",
            text("completed_at DESC"),
            postgresql_where=text("status = 'DONE' AND key_mode = 'live'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None
    )
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12))
    # Test keys' jobs run on the offline generator and cost nothing.
    key_mode: Mapped[str] = mapped_column(String(8))
    # What the worker needs, snapshotted at submit (a note's text is copied, not re-read).
    input: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # The current attempt's lease (database clock). Between attempts (retry backoff) it is the
    # earliest time the next attempt may claim the job.
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    estimated_completion_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # `Cancel-After`: not started by then, the job is cancelled (deadline_exceeded), never run.
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
