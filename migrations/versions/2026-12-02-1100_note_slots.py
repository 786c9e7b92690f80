"""note slots: a note's place on the calendar (INGEST.md §4)

A note may carry a slot: its own id, a date and an optional content type, all three null for a
note without one. The notes list filters `dateFrom`/`dateTo` on the slot's date, or on the
note's creation when it has no slot: `coalesce(slot_date, created_at)`, which the new index
serves (the list's conditions spell the expression the same way).

The new columns are nullable without defaults (no table rewrite); existing notes have no slot.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CONTENT_TYPES = "('PERSONAL', 'BUSINESS_INTERNAL', 'BUSINESS_EXTERNAL', 'EDUCATIONAL', 'UNKNOWN')"


def upgrade() -> None:
    op.add_column("notes", sa.Column("slot_id", sa.String(length=40), nullable=True))
    op.add_column(
        "notes",
        sa.Column("slot_date", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
    )
    op.add_column("notes", sa.Column("slot_content_type", sa.String(length=20), nullable=True))
    op.create_check_constraint(
        op.f("ck_notes_slot"),
        "notes",
        "(slot_id IS NULL) = (slot_date IS NULL)"
        " AND (slot_content_type IS NULL OR slot_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_notes_slot_content_type"), "notes", f"slot_content_type IN {CONTENT_TYPES}"
    )
    op.create_index(
        "ix_notes_workspace_project_calendar",
        "notes",
        ["workspace_id", "project_id", sa.text("coalesce(slot_date, created_at)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notes_workspace_project_calendar", table_name="notes")
    op.drop_constraint(op.f("ck_notes_slot_content_type"), "notes", type_="check")
    op.drop_constraint(op.f("ck_notes_slot"), "notes", type_="check")
    op.drop_column("notes", "slot_content_type")
    op.drop_column("notes", "slot_date")
    op.drop_column("notes", "slot_id")
