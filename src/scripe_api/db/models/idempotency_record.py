from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.db.base import Base


class IdempotencyRecord(Base):
    """One Idempotency-Key use (API.md §3): claimed in flight, then completed with the response.

    Times come from the database clock (the 24 h window and the 30 s lock must agree across
    API processes).
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        CheckConstraint("state IN ('in_flight', 'completed')", name="state"),
        Index("ix_idempotency_records_created", "created_at"),
    )

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Method + route template, e.g. "POST /v1/posts/generations".
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # SHA-256 of the concrete path + canonical JSON body; only the hash is stored.
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    state: Mapped[str] = mapped_column(String(12))
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[Any | None] = mapped_column(JSONB, default=None)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB, default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
