from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base
from scripe_api.db.models.post import CONTENT_TYPES

# The moment the notes list's `dateFrom`/`dateTo` filter on: the slot's date, or the note's
# creation for a note without a slot. The list's conditions spell it exactly like this, so the
# index on it serves them.
NOTE_CALENDAR_AT = "coalesce(slot_date, created_at)"


class Note(Base):
    """A note: raw material a generation can start from (`source.noteId`), optionally on the
    calendar (a slot: a date and a content type, INGEST.md §4)."""

    __tablename__ = "notes"
    __table_args__ = (
        # A slot is all there (an id and a date) or not at all; a content type needs a slot.
        CheckConstraint(
            "(slot_id IS NULL) = (slot_date IS NULL)"
            " AND (slot_content_type IS NULL OR slot_id IS NOT NULL)",
            name="slot",
        ),
        CheckConstraint(f"slot_content_type IN {CONTENT_TYPES!r}", name="slot_content_type"),
        Index(
            "ix_notes_workspace_project_created",
            "workspace_id",
            "project_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_notes_workspace_project_calendar",
            "workspace_id",
            "project_id",
            text(NOTE_CALENDAR_AT),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    slot_id: Mapped[str | None] = mapped_column(String(40), default=None)
    slot_date: Mapped[datetime | None] = mapped_column(default=None)
    slot_content_type: Mapped[str | None] = mapped_column(String(20), default=None)
