"""spend settlements: ending jobs settle on one of a bucket's shards, not on the bucket row

Every submit (its guarded reservation) and every ending job (its settlement) used to update the
workspace's one bucket row for the day, so they queued on its row lock — under load, most of a
submit's and a completion's time was that wait. Settlements now go to `spend_settlements` (one
of 16 rows per bucket, picked at random); a bucket's spend is its row plus its shards. The
submit takes its reservation last, so it holds the bucket row only while it commits, and a
bucket already over its cap refuses before writing anything.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:30:00+00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

REFUSE_SPEND = r"""
CREATE FUNCTION scripe_refuse_spend(
    p_workspace_id text, p_scope text, p_key text, p_token timestamptz, p_today date
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
BEGIN
    -- A 402 is not recorded: the key is free again at once.
    IF p_token IS NOT NULL THEN
        DELETE FROM idempotency_records r
         WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope
           AND r.key = p_key AND r.locked_until = p_token;
    END IF;
    RETURN QUERY
        SELECT 'spend_cap', NULL::timestamptz, NULL::integer, NULL::text, NULL::jsonb, p_today,
               coalesce((SELECT b.reserved_cents + b.actual_cents
                           FROM spend_buckets b
                          WHERE b.workspace_id = p_workspace_id AND b.bucket_date = p_today), 0)
               + coalesce((SELECT sum(s.reserved_cents + s.actual_cents)
                             FROM spend_settlements s
                            WHERE s.workspace_id = p_workspace_id
                              AND s.bucket_date = p_today), 0)::bigint;
END
$$
"""

SUBMIT_JOB = r"""
CREATE OR REPLACE FUNCTION scripe_submit_job(
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
    p_body text
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
                      attempt_count, estimated_completion_ms, created_at, updated_at)
    VALUES (p_job_id, p_workspace_id, p_project_id, p_type, 'QUEUED', p_key_mode, v_input, 0,
            p_estimated_ms, p_created_at, p_created_at);
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
    op.create_table(
        "spend_settlements",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("bucket_date", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("reserved_cents", sa.BigInteger(), nullable=False),
        sa.Column("actual_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            postgresql.TIMESTAMP(timezone=True, precision=3),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_spend_settlements_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "bucket_date", "shard", name=op.f("pk_spend_settlements")
        ),
    )
    op.execute(REFUSE_SPEND)
    op.execute(SUBMIT_JOB)


def downgrade() -> None:
    # Fold the settlements back into their buckets, then restore 0006's function.
    op.execute(
        """
        UPDATE spend_buckets b
           SET reserved_cents = b.reserved_cents + s.reserved_cents,
               actual_cents = b.actual_cents + s.actual_cents
          FROM (SELECT workspace_id, bucket_date, sum(reserved_cents) AS reserved_cents,
                       sum(actual_cents) AS actual_cents
                  FROM spend_settlements GROUP BY workspace_id, bucket_date) s
         WHERE b.workspace_id = s.workspace_id AND b.bucket_date = s.bucket_date
        """
    )
    previous = Path(__file__).with_name("2026-12-02-0300_submit_job_function.py")
    spec = importlib.util.spec_from_file_location("scripe_migration_0006", previous)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.SUBMIT_JOB.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP FUNCTION scripe_refuse_spend(text, text, text, timestamptz, date)")
    op.drop_table("spend_settlements")
