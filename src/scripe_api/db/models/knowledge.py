from __future__ import annotations

from datetime import datetime

from sqlalchemy import Computed, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from scripe_api.core.clock import utc_now
from scripe_api.db.base import Base


class KnowledgeDocument(Base):
    """A knowledge base document: a project's (`project_id`) or the whole workspace's (null)."""

    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(500))
    # The ingest job that wrote it (null when an operator added it from the CLI). Unique: a job
    # writes one document whatever happens to its attempts.
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class KnowledgeChunk(Base):
    """One passage of a document, indexed for full-text ranking (`simple`: no language stemming,
    since a document's language is unknown)."""

    __tablename__ = "kb_chunks"
    __table_args__ = (
        Index("ix_kb_chunks_search", "search", postgresql_using="gin"),
        Index("ix_kb_chunks_workspace_project", "workspace_id", "project_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the document so retrieval filters without a join.
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None
    )
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, content)", persisted=True)
    )
