"""job deadlines: `Cancel-After` on a submit sets `jobs.deadline_at`

A job not started by its deadline is cancelled (`deadline_exceeded`) by the claim that finds it
late or by the sweep, refunded and never run. The submit function takes the deadline as a 19th
parameter (seconds after the job's creation; null for none).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:00:00+00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_SIGNATURE = (
    "text, text, text, bytea, float8, float8, text, text, text, text, text, jsonb, "
    "timestamptz, integer, timestamptz, integer, bigint, text"
)

SUBMIT_JOB = r"""
CREATE FUNCTION scripe_submit_job(
    p_workspace_id text,
    p_scope text,
    p_key text,
    p_fingerprint bytea,
    p_lock_seconds float8,
    p_window_seconds float8,
    p_job_id text,
    p_type text,
    p_key_mode text,
    p_project_id text,
    p_note_id text,
    p_input jsonb,
    p_scheduled_for timestamptz,
    p_estimated_ms integer,
    p_created_at timestamptz,
    p_reserve_cents integer,
    p_cap_cents bigint,
    p_body text,
    p_cancel_after_seconds integer
) RETURNS TABLE (
    outcome text,
    token timestamptz,
    response_status integer,
    response_body text,
    response_headers jsonb,
    bucket_date date,
    spent_cents bigint
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_token timestamptz;
    v_record record;
    v_note text;
    v_input jsonb := p_input;
    v_today date := (now() AT TIME ZONE 'UTC')::date;
    v_bucket date;
    v_spent bigint;
BEGIN
    IF p_key IS NOT NULL THEN
        -- Claim the key (a record older than the window counts as absent). A concurrent
        -- duplicate waits here for this transaction, then sees its recorded response.
        INSERT INTO idempotency_records AS r
               (workspace_id, scope, key, fingerprint, state, locked_until, created_at)
        VALUES (p_workspace_id, p_scope, p_key, p_fingerprint, 'in_flight',
                now() + make_interval(secs => p_lock_seconds), now())
        ON CONFLICT (workspace_id, scope, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, state = 'in_flight',
               locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at,
               response_status = NULL, response_body = NULL, response_headers = NULL,
               completed_at = NULL
         WHERE r.created_at <= now() - make_interval(secs => p_window_seconds)
        RETURNING r.locked_until INTO v_token;
        IF v_token IS NULL THEN
            SELECT r.fingerprint, r.state, r.locked_until, r.response_status,
                   r.response_body #>> '{}' AS body, r.response_headers
              INTO v_record
              FROM idempotency_records r
             WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope AND r.key = p_key;
            IF v_record.fingerprint <> p_fingerprint THEN
                RETURN QUERY SELECT 'conflict', NULL::timestamptz, NULL::integer, NULL::text,
                                    NULL::jsonb, NULL::date, NULL::bigint;
                RETURN;
            END IF;
            IF v_record.state = 'completed' THEN
                RETURN QUERY SELECT 'replay', NULL::timestamptz, v_record.response_status,
                                    v_record.body, v_record.response_headers, NULL::date,
                                    NULL::bigint;
                RETURN;
            END IF;
            IF v_record.locked_until > now() THEN
                RETURN QUERY SELECT 'in_use', NULL::timestamptz, NULL::integer, NULL::text,
                                    NULL::jsonb, NULL::date, NULL::bigint;
                RETURN;
            END IF;
            -- In flight with an expired lock: its request died; take it over.
            UPDATE idempotency_records r
               SET locked_until = now() + make_interval(secs => p_lock_seconds)
             WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope AND r.key = p_key
               AND r.state = 'in_flight' AND r.locked_until = v_record.locked_until
            RETURNING r.locked_until INTO v_token;
            IF v_token IS NULL THEN
                RETURN QUERY SELECT 'in_use', NULL::timestamptz, NULL::integer, NULL::text,
                                    NULL::jsonb, NULL::date, NULL::bigint;
                RETURN;
            END IF;
        END IF;
    END IF;

    -- The operation, in the order of API.md §1.5: resource (404), rules (422), spend (402).
    IF p_project_id IS NOT NULL THEN
        PERFORM 1 FROM projects WHERE id = p_project_id AND workspace_id = p_workspace_id;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'project_not_found', v_token, NULL::integer, NULL::text,
                                NULL::jsonb, NULL::date, NULL::bigint;
            RETURN;
        END IF;
    END IF;
    IF p_note_id IS NOT NULL THEN
        -- Read with the request's own rights: the same workspace and the same project.
        SELECT n.content INTO v_note FROM notes n
         WHERE n.id = p_note_id AND n.workspace_id = p_workspace_id
           AND n.project_id = p_project_id;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'note_unknown', v_token, NULL::integer, NULL::text,
                                NULL::jsonb, NULL::date, NULL::bigint;
            RETURN;
        END IF;
        v_input := jsonb_set(v_input, '{source}',
                             jsonb_build_object('text', v_note, 'noteId', p_note_id));
    END IF;
    IF p_scheduled_for IS NOT NULL AND p_scheduled_for <= now() THEN
        RETURN QUERY SELECT 'schedule_past', v_token, NULL::integer, NULL::text,
                            NULL::jsonb, NULL::date, NULL::bigint;
        RETURN;
    END IF;

    IF p_reserve_cents > 0 AND p_cap_cents IS NOT NULL THEN
        -- A bucket already too full refuses here, reading without a lock and writing nothing.
        SELECT b.reserved_cents + b.actual_cents
               + coalesce((SELECT sum(s.reserved_cents + s.actual_cents)
                             FROM spend_settlements s
                            WHERE s.workspace_id = p_workspace_id AND s.bucket_date = v_today), 0)
          INTO v_spent
          FROM spend_buckets b
         WHERE b.workspace_id = p_workspace_id AND b.bucket_date = v_today;
        IF coalesce(v_spent, 0) + p_reserve_cents > p_cap_cents THEN
            RETURN QUERY SELECT * FROM scripe_refuse_spend(p_workspace_id, p_scope, p_key, v_token,
                                                         v_today);
            RETURN;
        END IF;
    END IF;

    INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input,
                      attempt_count, estimated_completion_ms, deadline_at, created_at,
                      updated_at)
    VALUES (p_job_id, p_workspace_id, p_project_id, p_type, 'QUEUED', p_key_mode, v_input, 0,
            p_estimated_ms,
            p_created_at + make_interval(secs => p_cancel_after_seconds),
            p_created_at, p_created_at);
    IF p_reserve_cents > 0 THEN
        INSERT INTO spend_reservations (job_id, workspace_id, bucket_date, estimate_cents)
        VALUES (p_job_id, p_workspace_id, v_today, p_reserve_cents);
    END IF;
    IF v_token IS NOT NULL THEN
        -- The response as of this commit is what a retry with the same key gets back.
        UPDATE idempotency_records r
           SET state = 'completed', locked_until = NULL, response_status = 202,
               response_body = to_jsonb(p_body),
               response_headers = '{"Content-Type": "application/json"}', completed_at = now()
         WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope AND r.key = p_key
           AND r.locked_until = v_token;
    END IF;

    IF p_reserve_cents > 0 THEN
        -- The reservation comes last: its row lock on the bucket (reservations take turns on
        -- it) is held only while this transaction commits. Refused reservations lock nothing:
        -- the condition is checked on the row (after waiting for a concurrent reservation to
        -- commit), and a row that fails it is left unlocked. The day's first reservation opens
        -- the bucket.
        IF p_cap_cents IS NULL OR p_reserve_cents <= p_cap_cents THEN
            UPDATE spend_buckets b
               SET reserved_cents = b.reserved_cents + p_reserve_cents, updated_at = now()
             WHERE b.workspace_id = p_workspace_id AND b.bucket_date = v_today
               AND (p_cap_cents IS NULL
                    OR b.reserved_cents + b.actual_cents + p_reserve_cents
                       + coalesce((SELECT sum(s.reserved_cents + s.actual_cents)
                                     FROM spend_settlements s
                                    WHERE s.workspace_id = p_workspace_id
                                      AND s.bucket_date = v_today), 0) <= p_cap_cents)
            RETURNING b.bucket_date INTO v_bucket;
            IF v_bucket IS NULL THEN
                INSERT INTO spend_buckets AS b
                       (workspace_id, bucket_date, reserved_cents, actual_cents, updated_at)
                VALUES (p_workspace_id, v_today, p_reserve_cents, 0, now())
                ON CONFLICT (workspace_id, bucket_date) DO NOTHING
                RETURNING b.bucket_date INTO v_bucket;
            END IF;
            IF v_bucket IS NULL THEN
                -- Another request opened the bucket after the UPDATE looked: try on its row.
                UPDATE spend_buckets b
                   SET reserved_cents = b.reserved_cents + p_reserve_cents, updated_at = now()
                 WHERE b.workspace_id = p_workspace_id AND b.bucket_date = v_today
                   AND (p_cap_cents IS NULL
                        OR b.reserved_cents + b.actual_cents + p_reserve_cents
                           + coalesce((SELECT sum(s.reserved_cents + s.actual_cents)
                                         FROM spend_settlements s
                                        WHERE s.workspace_id = p_workspace_id
                                          AND s.bucket_date = v_today), 0) <= p_cap_cents)
                RETURNING b.bucket_date INTO v_bucket;
            END IF;
        END IF;
        IF v_bucket IS NULL THEN
            -- Refused after all (the bucket filled meanwhile): nothing of this request stays.
            -- The job goes with its reservation; the key, recorded above by this transaction
            -- and so still its own, is freed.
            DELETE FROM jobs WHERE id = p_job_id;
            IF v_token IS NOT NULL THEN
                DELETE FROM idempotency_records r
                 WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope AND r.key = p_key;
            END IF;
            RETURN QUERY SELECT * FROM scripe_refuse_spend(p_workspace_id, p_scope, p_key, NULL,
                                                         v_today);
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT 'created', NULL::timestamptz, 202, p_body, NULL::jsonb, v_bucket,
                        NULL::bigint;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("deadline_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
    )
    # The sweep's look for queued jobs past their deadline (only jobs that have one).
    op.create_index(
        "ix_jobs_queued_deadline",
        "jobs",
        ["deadline_at"],
        postgresql_where=sa.text("status = 'QUEUED' AND deadline_at IS NOT NULL"),
    )
    op.execute(f"DROP FUNCTION scripe_submit_job({OLD_SIGNATURE})")
    op.execute(SUBMIT_JOB)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION scripe_submit_job({OLD_SIGNATURE}, integer)")
    previous = Path(__file__).with_name("2026-12-02-0730_spend_settlements.py")
    spec = importlib.util.spec_from_file_location("scripe_migration_0007", previous)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.SUBMIT_JOB)
    op.drop_index("ix_jobs_queued_deadline", table_name="jobs")
    op.drop_column("jobs", "deadline_at")
