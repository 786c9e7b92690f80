"""SQL for the knowledge base: storing documents and their chunks from the CLI (an ingest job's
document is written by its finishing statement, see `knowledge/runner.py`; the passages a
generation uses are ranked by its claim, see `jobs/repository.py`)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.ids import new_id
from scripe_api.db.models import KnowledgeChunk, KnowledgeDocument

# No stemming and no stop words: a document's language is not known.
TEXT_SEARCH_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")
# Enough of the source's vocabulary to find what it is about, few enough for a cheap query.
MAX_QUERY_WORDS = 64
MIN_WORD_CHARS = 3
WORD = re.compile(r"\w+")


async def add_document(
    session: AsyncSession,
    *,
    workspace_id: str,
    project_id: str | None,
    name: str,
    chunks: list[str],
    job_id: str | None = None,
) -> KnowledgeDocument:
    """The document and its chunks, written (flushed) in the session's transaction."""
    document = KnowledgeDocument(
        id=new_id("kb"),
        workspace_id=workspace_id,
        project_id=project_id,
        name=name,
        job_id=job_id,
    )
    session.add(document)
    # No ORM relationship orders the inserts: the document goes first for the chunks' key.
    await session.flush()
    session.add_all(
        KnowledgeChunk(
            id=new_id("kbc"),
            document_id=document.id,
            workspace_id=workspace_id,
            project_id=project_id,
            position=position,
            content=content,
        )
        for position, content in enumerate(chunks)
    )
    await session.flush()
    return document
