"""Adding knowledge: checked and queued from the API, or written at once by an operator."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from scripe_api.core.errors import InvalidRequest, NotFound, PayloadTooLarge, Unprocessable
from scripe_api.db.models import KnowledgeDocument
from scripe_api.ingest import youtube_urls
from scripe_api.jobs.submission import JobRequest
from scripe_api.knowledge import repository
from scripe_api.knowledge.chunking import chunk_text
from scripe_api.knowledge.schemas import (
    JOB_TYPES,
    KNOWLEDGE_TEXT_MAX_BYTES,
    SUPPORTED_TYPES,
    KnowledgeCreate,
)
from scripe_api.projects.service import get_project_for_operator
from scripe_api.uploads.service import Reservation
from scripe_api.workspaces.service import get_workspace


def job_type_of(body: KnowledgeCreate) -> str:
    """The ingest job for the body's type; 422 listing the supported ones otherwise."""
    job_type = JOB_TYPES.get(body.type)
    if job_type is None:
        raise Unprocessable(
            f"type '{body.type}' is not supported; supported: {', '.join(SUPPORTED_TYPES)}.",
            details={"field": "type", "supported": list(SUPPORTED_TYPES)},
        )
    return job_type


def _required(value: str | None, field: str, kind: str) -> str:
    if value is None:
        raise InvalidRequest(
            f"Missing required field '{field}' (for type '{kind}').", details={"field": field}
        )
    return value


def knowledge_request(
    body: KnowledgeCreate, estimate_ms: int | None, reservation: Reservation | None = None
) -> JobRequest:
    """The ingest job to submit; raises what the request alone shows to be wrong. Only an
    uploaded recording calls a paid provider (transcription): `reservation` is what it
    reserves."""
    job_type = job_type_of(body)
    kind = body.type
    if kind == "text":
        name = _required(body.name, "name", kind)
        text = _required(body.text, "text", kind)
        if len(text.encode()) > KNOWLEDGE_TEXT_MAX_BYTES:
            raise PayloadTooLarge("text exceeds 1 MB.", details={"field": "text"})
        document: dict[str, object] = {"type": kind, "name": name, "text": text}
        upload_id = None
    elif kind == "file":
        document = {"type": kind, "name": _required(body.name, "name", kind)}
        upload_id = _required(body.upload_id, "uploadId", kind)
    else:
        url = _required(body.url, "url", kind).strip()
        document = {"type": kind, "name": body.name or url, "url": url}
        if kind == "url":
            if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
                raise Unprocessable("url must be an http or https URL.", details={"field": "url"})
        else:
            try:
                document["videoId"] = youtube_urls.video_id(url)
            except ValueError as error:
                raise Unprocessable(str(error), details={"field": "url"}) from None
        upload_id = None
    return JobRequest(
        job_type=job_type,
        project_id=body.project_id,
        input=document,
        estimated_completion_ms=estimate_ms,
        upload_id=upload_id,
        reserve_cents=reservation.cents if reservation and upload_id else 0,
        cap_cents=reservation.cap_cents if reservation and upload_id else None,
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
