"""scripe_submit_job: submitting a job is one round trip

The Idempotency-Key claim, the project (and note) checks, the spend reservation, the job row,
its reservation row and the response recorded on the key: one transaction in one statement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:00:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Outcomes (what the caller answers):
#   created            the job is committed (and the key recorded with `p_body`)
#   replay             the key holds this request's recorded response
#   conflict           the key was used for another request
#   in_use             the key is held by a request still running
#   project_not_found  404; note_unknown, schedule_past: 422 — the claim stays in flight for
#                      the caller to record the rendered error with `token`
#   spend_cap          402, not recorded: the claim is released; with the bucket's state
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

    IF p_reserve_cents > 0 THEN
        -- Refused reservations lock nothing: the condition is checked on the row (after
        -- waiting for a concurrent reservation to commit), and a row that fails it is left
        -- unlocked. The day's first reservation opens the bucket.
        IF p_cap_cents IS NULL OR p_reserve_cents <= p_cap_cents THEN
            UPDATE spend_buckets b
               SET reserved_cents = b.reserved_cents + p_reserve_cents, updated_at = now()
             WHERE b.workspace_id = p_workspace_id AND b.bucket_date = v_today
               AND (p_cap_cents IS NULL
                    OR b.reserved_cents + b.actual_cents + p_reserve_cents <= p_cap_cents)
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
                        OR b.reserved_cents + b.actual_cents + p_reserve_cents <= p_cap_cents)
                RETURNING b.bucket_date INTO v_bucket;
            END IF;
        END IF;
        IF v_bucket IS NULL THEN
            -- A 402 is not recorded: the key is free again at once.
            IF v_token IS NOT NULL THEN
                DELETE FROM idempotency_records r
                 WHERE r.workspace_id = p_workspace_id AND r.scope = p_scope
                   AND r.key = p_key AND r.locked_until = v_token;
            END IF;
            RETURN QUERY
                SELECT 'spend_cap', NULL::timestamptz, NULL::integer, NULL::text, NULL::jsonb,
                       v_today, coalesce((SELECT b.reserved_cents + b.actual_cents
                                            FROM spend_buckets b
                                           WHERE b.workspace_id = p_workspace_id
                                             AND b.bucket_date = v_today), 0);
            RETURN;
        END IF;
    END IF;

    INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input,
                      attempt_count, estimated_completion_ms, created_at, updated_at)
    VALUES (p_job_id, p_workspace_id, p_project_id, p_type, 'QUEUED', p_key_mode, v_input, 0,
            p_estimated_ms, p_created_at, p_created_at);
    IF v_bucket IS NOT NULL THEN
        INSERT INTO spend_reservations (job_id, workspace_id, bucket_date, estimate_cents)
        VALUES (p_job_id, p_workspace_id, v_bucket, p_reserve_cents);
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
    RETURN QUERY SELECT 'created', NULL::timestamptz, 202, p_body, NULL::jsonb, v_bucket,
                        NULL::bigint;
END
$$
"""


def upgrade() -> None:
    op.execute(SUBMIT_JOB)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION scripe_submit_job(text, text, text, bytea, float8, float8, text, text, "
        "text, text, text, jsonb, timestamptz, integer, timestamptz, integer, bigint, text)"
    )
