"""Adding knowledge: checked and queued from the API, or written at once by an operator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.errors import NotFound, PayloadTooLarge, Unprocessable
from scripe_api.db.models import KnowledgeDocument
from scripe_api.jobs.submission import JobRequest
from scripe_api.knowledge import repository
from scripe_api.knowledge.chunking import chunk_text
from scripe_api.knowledge.schemas import (
    KNOWLEDGE_TEXT_MAX_BYTES,
    SUPPORTED_TYPES,
    KnowledgeCreate,
)
from scripe_api.projects.service import get_project_for_operator
from scripe_api.workspaces.service import get_workspace


def knowledge_request(body: KnowledgeCreate, estimate_ms: int | None) -> JobRequest:
    """The KB_INGEST_TEXT job to submit; raises what the request alone shows to be wrong."""
    if body.type not in SUPPORTED_TYPES:
        raise Unprocessable(
            f"type '{body.type}' is not supported; supported: {', '.join(SUPPORTED_TYPES)}.",
            details={"field": "type", "supported": list(SUPPORTED_TYPES)},
        )
    if len(body.text.encode()) > KNOWLEDGE_TEXT_MAX_BYTES:
        raise PayloadTooLarge("text exceeds 1 MB.", details={"field": "text"})
    # Calls no AI provider: reserves nothing.
    return JobRequest(
        job_type="KB_INGEST_TEXT",
        project_id=body.project_id,
        input={"type": body.type, "name": body.name, "text": body.text},
        estimated_completion_ms=estimate_ms,
    )


async def add_text_for_operator(
    session: AsyncSession,
    *,
    workspace_id: str | None,
    project_id: str | None,
    name: str,
    text: str,
) -> KnowledgeDocument:
    """A document written at once (the CLI): the project's, or the workspace's when no project."""
    if project_id is not None:
        project = await get_project_for_operator(session, project_id)
        workspace_id, project_id = project.workspace_id, project.id
    elif workspace_id is not None:
        workspace_id = (await get_workspace(session, workspace_id)).id
    else:
        raise NotFound("Name a project or a workspace.")
    return await repository.add_document(
        session,
        workspace_id=workspace_id,
        project_id=project_id,
        name=name,
        chunks=chunk_text(text),
    )
