"""foundation: workspaces, api keys, projects

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 11:56:38.491751+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=20), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("deleted_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.CheckConstraint(
            "plan IN ('FREE', 'SOLO', 'ADVANCED', 'BUSINESS', 'ENTERPRISE', 'TRIAL')",
            name=op.f("ck_workspaces_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("expires_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("revoked_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("last_used_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.CheckConstraint("mode IN ('live', 'test')", name=op.f("ck_api_keys_mode")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    op.create_index(
        "ix_api_keys_workspace_created",
        "api_keys",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "voice_profile",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "voice_samples",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "content_pillars",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'ERROR')", name=op.f("ck_projects_status")
        ),
        sa.CheckConstraint(
            "type IN ('PERSONAL_BRAND', 'COMPANY_PAGE')", name=op.f("ck_projects_type")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_projects_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_index(
        "ix_projects_workspace_created",
        "projects",
        ["workspace_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_projects_workspace_created", table_name="projects")
    op.drop_table("projects")
    op.drop_index("ix_api_keys_workspace_created", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("workspaces")
