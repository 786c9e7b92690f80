"""provider call output: a completed call keeps what it generated, so a later attempt of the
same job reuses it instead of paying the provider again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "provider_calls",
        sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("provider_calls", "output")
