from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base

UPLOAD_STATUSES = ("pending", "completed", "consumed")


class Upload(Base):
    """A single-use upload (INGEST.md §1): minted `pending`, `completed` once its bytes are
    stored (one PUT, the minted content type, at most `max_size_bytes`), `consumed` by the
    first source or knowledge document that references it."""

    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint(f"status IN {UPLOAD_STATUSES!r}", name="status"),
        # The cleanup: bytes never referenced, or already extracted.
        Index("ix_uploads_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(128))
    max_size_bytes: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Where the bytes are, in the configured storage (disk or S3-compatible).
    storage_key: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consumed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Set once the stored bytes were deleted (extracted, or never referenced).
    purged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now, server_default=text("now()"))
