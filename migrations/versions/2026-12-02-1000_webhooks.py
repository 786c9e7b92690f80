"""webhooks: endpoints, the outbox of events, and their deliveries (WEBHOOKS.md)

The statements that change what an event reports write its outbox row and its deliveries in
the same statement, so they make their ids in SQL: `scripe_new_id(prefix)` is `core.ids.new_id`
in Postgres (a prefixed ULID: 48 bits of milliseconds, then 80 random bits from
gen_random_uuid's random bytes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:59:52.291035+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


NEW_ID = r"""
CREATE FUNCTION scripe_new_id(p_prefix text) RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
    alphabet CONSTANT text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    -- A version-4 UUID: bytes 0-5 and 10-15 are random (6 and 8 carry its version and variant).
    bytes bytea := uuid_send(gen_random_uuid());
    high bigint := 0;
    low bigint := 0;
    result text := p_prefix || '_';
    i integer;
BEGIN
    FOR i IN 0..4 LOOP
        high := (high << 8) | get_byte(bytes, i);
        low := (low << 8) | get_byte(bytes, 10 + i);
    END LOOP;
    FOR i IN REVERSE 9..0 LOOP
        result := result || substr(alphabet, ((ms >> (i * 5)) & 31)::integer + 1, 1);
    END LOOP;
    FOR i IN REVERSE 7..0 LOOP
        result := result || substr(alphabet, ((high >> (i * 5)) & 31)::integer + 1, 1);
    END LOOP;
    FOR i IN REVERSE 7..0 LOOP
        result := result || substr(alphabet, ((low >> (i * 5)) & 31)::integer + 1, 1);
    END LOOP;
    RETURN result;
END
$$
"""


def upgrade() -> None:
    op.execute(NEW_ID)
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index("ix_webhook_events_created", "webhook_events", ["created_at"], unique=False)
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=32), nullable=True),
        sa.Column("failing_since", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("secret_last4", sa.String(length=4), nullable=False),
        sa.Column("previous_secret_ciphertext", sa.Text(), nullable=True),
        sa.Column(
            "previous_secret_expires_at",
            postgresql.TIMESTAMP(timezone=True, precision=3),
            nullable=True,
        ),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('gone', 'failing', 'ssrf_blocked')",
            name=op.f("ck_webhook_endpoints_disabled_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_webhook_endpoints_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_endpoints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        "ix_webhook_endpoints_workspace_created",
        "webhook_endpoints",
        ["workspace_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True
        ),
        sa.Column(
            "lease_expires_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True
        ),
        sa.Column(
            "last_attempt_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True
        ),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        sa.Column("last_response_ms", sa.Integer(), nullable=True),
        sa.Column("last_response_body", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True, precision=3), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_created", "webhook_deliveries", ["created_at"], unique=False
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_created",
        "webhook_deliveries",
        ["endpoint_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_created", table_name="webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_webhook_deliveries_created", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_workspace_created", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_webhook_events_created", table_name="webhook_events")
    op.drop_table("webhook_events")
    op.execute("DROP FUNCTION scripe_new_id(text)")
