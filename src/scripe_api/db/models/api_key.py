from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base


class ApiKey(Base):
    """An API key. Only the HMAC-SHA-256 digest of the key is stored, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("mode IN ('live', 'test')", name="mode"),
        Index("ix_api_keys_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=False
    )
    name: Mapped[str] = mapped_column(String(200))
    # HMAC-SHA-256(server secret of `secret_version`, key): 32 bytes, the lookup key.
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    secret_version: Mapped[int] = mapped_column(Integer)
    # The last four characters, so operators can tell keys apart; not enough to guess one.
    hint: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(8))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
