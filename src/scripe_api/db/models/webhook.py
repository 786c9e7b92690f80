from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base

# The events a webhook endpoint may subscribe to (WEBHOOKS.md §1): a closed list.
WEBHOOK_EVENTS = (
    "note.created",
    "post.created",
    "post.updated",
    "post.scheduled",
    "post.unscheduled",
    "source.created",
    "job.completed",
    "job.failed",
    "knowledge.indexed",
)
DELIVERY_STATUSES = ("pending", "succeeded", "failed")
DISABLED_REASONS = ("gone", "failing", "ssrf_blocked")


class WebhookEndpoint(Base):
    """Where a workspace's events are pushed. The signing secret is stored encrypted with the
    server secret (`webhooks.secrets`); during a rotation the previous one signs too, until
    `previous_secret_expires_at`."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(
            f"disabled_reason IS NULL OR disabled_reason IN {DISABLED_REASONS!r}",
            name="disabled_reason",
        ),
        Index(
            "ix_webhook_endpoints_workspace_created",
            "workspace_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Only this project's events (null: every project's).
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    is_active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The start of the current streak of failed deliveries (null after a success).
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    secret_last4: Mapped[str] = mapped_column(String(4))
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class WebhookEvent(Base):
    """The outbox: one row per event, written in the transaction of the change it reports. Its
    `body` is the exact JSON every delivery of it sends (and signs)."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created", "created_at"),)

    # msg_…: the `webhook-id` of every delivery of the event, retries included.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebhookDelivery(Base):
    """An event's delivery to one endpoint: `pending` until a 2xx (`succeeded`) or the retry
    schedule runs out (`failed`). A dispatcher holds it while it sends (`lease_expires_at`,
    `attempts` the compare-and-set token); a dispatcher that dies loses the lease and the
    delivery is sent again, with the same `webhook-id`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        Index(
            "ix_webhook_deliveries_endpoint_created",
            "endpoint_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # The dispatcher's claims: what is due, per endpoint.
        Index(
            "ix_webhook_deliveries_due",
            "endpoint_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Set while a dispatcher is sending it.
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The first 1 KB of the receiver's last answer.
    last_response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
