"""jobs posts notes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:01:12.992996+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("key_mode", sa.String(length=8), nullable=False),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column(
            "lease_expires_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True
        ),
        sa.Column("estimated_completion_ms", sa.Integer(), nullable=True),
        sa.Column("started_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("completed_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.CheckConstraint("key_mode IN ('live', 'test')", name=op.f("ck_jobs_key_mode")),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint(
            "type IN ('POST_GENERATION', 'KB_INGEST_TEXT', 'KB_INGEST_FILE', 'KB_INGEST_URL', 'KB_INGEST_YOUTUBE', 'SOURCE_INGEST_FILE')",
            name=op.f("ck_jobs_type"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_jobs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_done_by_type",
        "jobs",
        ["type", sa.literal_column("completed_at DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'DONE' AND key_mode = 'live'"),
    )
    op.create_index(
        "ix_jobs_unfinished",
        "jobs",
        ["status", "lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_index(
        "ix_jobs_workspace_created",
        "jobs",
        ["workspace_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_notes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index(
        "ix_notes_workspace_project_created",
        "notes",
        [
            "workspace_id",
            "project_id",
            sa.literal_column("created_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("scheduled_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.CheckConstraint(
            "content_type IN ('PERSONAL', 'BUSINESS_INTERNAL', 'BUSINESS_EXTERNAL', 'EDUCATIONAL', 'UNKNOWN')",
            name=op.f("ck_posts_content_type"),
        ),
        sa.CheckConstraint(
            "status IN ('waitingProcessing', 'draft', 'waitingApproval', 'approved', 'rejected', 'scheduled', 'published', 'suggested')",
            name=op.f("ck_posts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_posts_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_posts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_posts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("job_id", name=op.f("uq_posts_job_id")),
    )
    op.create_index(
        "ix_posts_workspace_project_created",
        "posts",
        [
            "workspace_id",
            "project_id",
            sa.literal_column("created_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_posts_workspace_project_created", table_name="posts")
    op.drop_table("posts")
    op.drop_index("ix_notes_workspace_project_created", table_name="notes")
    op.drop_table("notes")
    op.drop_index("ix_jobs_workspace_created", table_name="jobs")
    op.drop_index(
        "ix_jobs_unfinished",
        table_name="jobs",
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.drop_index(
        "ix_jobs_done_by_type",
        table_name="jobs",
        postgresql_where=sa.text("status = 'DONE' AND key_mode = 'live'"),
    )
    op.drop_table("jobs")
