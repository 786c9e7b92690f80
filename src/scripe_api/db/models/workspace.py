from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base

PLANS = ("FREE", "SOLO", "ADVANCED", "BUSINESS", "ENTERPRISE", "TRIAL")


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (CheckConstraint(f"plan IN {PLANS!r}", name="plan"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # Soft delete: the row stays for history; its keys answer 401 invalid_token.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
