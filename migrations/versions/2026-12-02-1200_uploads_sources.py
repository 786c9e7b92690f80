"""uploads and sources (INGEST.md §1, §2); the submit function takes an upload and a source

`uploads`: single-use upload tickets and where their bytes are. `sources`: text given directly
or extracted from an upload by a SOURCE_INGEST_FILE job.

`scripe_submit_job` gains two parameters (20th and 21st):
- `p_upload_id`: the job consumes the workspace's completed upload (404 when unknown, 409
  `upload_consumed` when another already did, 422 `upload_not_completed` before its bytes
  arrived); the consumption is a compare-and-set written with the job, so two submits naming
  the same upload cannot both win. The job's input gains `upload` {id, contentType, key, size}.
- `p_source_id`: a generation from a Done source of the same project (422 `source_unknown`
  otherwise); the job's input gains `source` {text, sourceId}: the source's first 100 000
  characters (a generation's own text is capped at 100 KB; the provider's budget is smaller).
The function is 0008's with these additions, applied to its text below (migrations are never
edited, so the text they start from is fixed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00+00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD_SIGNATURE = (
    "text, text, text, bytea, float8, float8, text, text, text, text, text, jsonb, "
    "timestamptz, integer, timestamptz, integer, bigint, text, integer"
)


def _migration(name: str, module: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module, Path(__file__).with_name(name))
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def submit_job_function() -> str:
    text: str = _migration("2026-12-02-0800_job_deadlines.py", "scripe_migration_0008").SUBMIT_JOB
    text = _replace_once(
        text,
        "    p_cancel_after_seconds integer\n) RETURNS TABLE (",
        "    p_cancel_after_seconds integer,\n    p_upload_id text,\n    p_source_id text\n"
        ") RETURNS TABLE (",
    )
    text = _replace_once(
        text,
        "    v_spent bigint;\nBEGIN",
        "    v_spent bigint;\n    v_upload record;\n    v_source text;\nBEGIN",
    )
    # Rules (422, 409) after the note's, before the schedule's: read only, nothing written.
    text = _replace_once(
        text,
        "    IF p_scheduled_for IS NOT NULL AND p_scheduled_for <= now() THEN",
        """    IF p_source_id IS NOT NULL THEN
        SELECT s.text INTO v_source FROM sources s
         WHERE s.id = p_source_id AND s.workspace_id = p_workspace_id
           AND s.project_id = p_project_id AND s.status = 'Done';
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'source_unknown', v_token, NULL::integer, NULL::text,
                                NULL::jsonb, NULL::date, NULL::bigint;
            RETURN;
        END IF;
        v_input := jsonb_set(v_input, '{source}',
                             jsonb_build_object('text', left(v_source, 100000),
                                                'sourceId', p_source_id));
    END IF;
    IF p_upload_id IS NOT NULL THEN
        SELECT u.status INTO v_upload FROM uploads u
         WHERE u.id = p_upload_id AND u.workspace_id = p_workspace_id;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'upload_not_found', v_token, NULL::integer, NULL::text,
                                NULL::jsonb, NULL::date, NULL::bigint;
            RETURN;
        END IF;
        IF v_upload.status <> 'completed' THEN
            RETURN QUERY SELECT CASE v_upload.status WHEN 'consumed' THEN 'upload_consumed'
                                ELSE 'upload_not_completed' END,
                                v_token, NULL::integer, NULL::text, NULL::jsonb, NULL::date,
                                NULL::bigint;
            RETURN;
        END IF;
    END IF;
    IF p_scheduled_for IS NOT NULL AND p_scheduled_for <= now() THEN""",
    )
    # The consumption itself comes with the job's insert (a concurrent submit that consumed it
    # in between makes this one a 409).
    return _replace_once(
        text,
        "    INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input,",
        """    IF p_upload_id IS NOT NULL THEN
        UPDATE uploads u SET status = 'consumed', consumed_at = now()
         WHERE u.id = p_upload_id AND u.workspace_id = p_workspace_id
           AND u.status = 'completed'
        RETURNING u.content_type, u.storage_key, u.size_bytes INTO v_upload;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'upload_consumed', v_token, NULL::integer, NULL::text,
                                NULL::jsonb, NULL::date, NULL::bigint;
            RETURN;
        END IF;
        v_input := v_input || jsonb_build_object('upload', jsonb_build_object(
            'id', p_upload_id, 'contentType', v_upload.content_type,
            'key', v_upload.storage_key, 'sizeBytes', v_upload.size_bytes));
    END IF;
    INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input,""",
    )


def upgrade() -> None:
    timestamp = postgresql.TIMESTAMP(timezone=True, precision=3)
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("max_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("expires_at", timestamp, nullable=False),
        sa.Column("completed_at", timestamp, nullable=True),
        sa.Column("consumed_at", timestamp, nullable=True),
        sa.Column("purged_at", timestamp, nullable=True),
        sa.Column("created_at", timestamp, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'consumed')", name=op.f("ck_uploads_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_uploads_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_index("ix_uploads_status_created", "uploads", ["status", "created_at"])
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("file_type", sa.String(length=128), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.CheckConstraint("type IN ('text', 'file')", name=op.f("ck_sources_type")),
        sa.CheckConstraint(
            "status IN ('Processing', 'Done', 'Failed')", name=op.f("ck_sources_status")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_sources_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_sources_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sources_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("job_id", name=op.f("uq_sources_job_id")),
    )
    op.execute(f"DROP FUNCTION scripe_submit_job({OLD_SIGNATURE})")
    op.execute(submit_job_function())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION scripe_submit_job({OLD_SIGNATURE}, text, text)")
    op.execute(_migration("2026-12-02-0800_job_deadlines.py", "scripe_migration_0008").SUBMIT_JOB)
    op.drop_table("sources")
    op.drop_index("ix_uploads_status_created", table_name="uploads")
    op.drop_table("uploads")
