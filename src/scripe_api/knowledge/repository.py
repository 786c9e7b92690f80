"""SQL for the knowledge base: storing documents and their chunks, and ranking passages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, desc, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.ids import new_id
from scripe_api.db.models import KnowledgeChunk, KnowledgeDocument
from scripe_api.providers.vocabulary import STOPWORDS

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


def query_words(source: str) -> list[str]:
    """The source's distinct words worth searching for, longest first (a crude salience)."""
    # Function words would match nearly every passage (`simple` keeps them in the index).
    words = {word.lower() for word in WORD.findall(source) if len(word) >= MIN_WORD_CHARS}
    words -= STOPWORDS
    return sorted(words, key=lambda word: (-len(word), word))[:MAX_QUERY_WORDS]


async def relevant_passages(
    session: AsyncSession, workspace_id: str, project_id: str, source: str, limit: int = 3
) -> list[str]:
    """The `limit` passages of the project's and the workspace-wide documents that best match
    `source` (any of its words: OR semantics), best first."""
    words = query_words(source)
    if not words:
        return []
    # Each word is a bound parameter turned into a one-term query, then OR-ed: no user text is
    # ever parsed as tsquery syntax.
    terms = [func.plainto_tsquery(TEXT_SEARCH_CONFIG, cast(word, Text)) for word in words]
    query: ColumnElement[Any] = terms[0]
    for term in terms[1:]:
        query = query.op("||")(term)
    rank = func.ts_rank(KnowledgeChunk.search, query)
    statement = (
        select(KnowledgeChunk.content)
        .where(
            KnowledgeChunk.workspace_id == workspace_id,
            or_(KnowledgeChunk.project_id == project_id, KnowledgeChunk.project_id.is_(None)),
            KnowledgeChunk.search.op("@@")(query),
        )
        .order_by(desc(rank), KnowledgeChunk.document_id, KnowledgeChunk.position)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())
