"""Sources: text stored at once, or a file turned into text by a SOURCE_INGEST_FILE job."""

from __future__ import annotations

from scripe_api.auth.principal import Principal
from scripe_api.core.clock import utc_now
from scripe_api.core.errors import InvalidRequest, NotFound, PayloadTooLarge
from scripe_api.core.ids import new_id
from scripe_api.db.pool import Database, Record
from scripe_api.db.transaction import UnitOfWork
from scripe_api.jobs.submission import JobRequest
from scripe_api.projects.service import require_project
from scripe_api.sources import repository
from scripe_api.sources.schemas import SOURCE_TEXT_MAX_BYTES, SourceCreate, SourceRead
from scripe_api.uploads.service import Reservation
from scripe_api.webhooks import outbox


def text_of(body: SourceCreate) -> str:
    """The text of a `text` source: `text` or its alias `content`, exactly one of them."""
    if body.text is not None and body.content is not None:
        raise InvalidRequest(
            "Send the text as `text` or as `content`, not both.", details={"field": "content"}
        )
    text = body.text if body.text is not None else body.content
    if text is None:
        raise InvalidRequest("Missing required field 'text'.", details={"field": "text"})
    if len(text.encode()) > SOURCE_TEXT_MAX_BYTES:
        raise PayloadTooLarge("text exceeds 1 MB.", details={"field": "text"})
    return text


def file_request(
    body: SourceCreate, estimate_ms: int | None, reservation: Reservation
) -> JobRequest:
    """The SOURCE_INGEST_FILE job of a `file` source."""
    if body.upload_id is None:
        raise InvalidRequest(
            "Missing required field 'uploadId' (for type 'file').", details={"field": "uploadId"}
        )
    return JobRequest(
        job_type="SOURCE_INGEST_FILE",
        project_id=body.project_id,
        input={"type": "file", "name": body.name},
        estimated_completion_ms=estimate_ms,
        upload_id=body.upload_id,
        reserve_cents=reservation.cents,
        cap_cents=reservation.cap_cents,
    )


async def create_text_source(uow: UnitOfWork, principal: Principal, body: SourceCreate) -> Record:
    text = text_of(body)
    connection = await uow.connection()
    await require_project(connection, principal, body.project_id)
    source = await repository.insert_text(
        connection,
        source_id=new_id("src"),
        workspace_id=principal.workspace_id,
        project_id=body.project_id,
        name=body.name,
        text=text,
        created_at=utc_now(),
    )
    await outbox.record(
        connection,
        principal.workspace_id,
        body.project_id,
        ("source.created",),
        SourceRead.from_row(source).model_dump_json(by_alias=True),
    )
    return source


async def read_source(database: Database, principal: Principal, source_id: str) -> Record:
    async with database.connection(principal.workspace_id) as connection:
        source = await repository.get(connection, principal.workspace_id, source_id)
    if source is None:
        raise NotFound(f"Source '{source_id}' was not found.")
    return source
