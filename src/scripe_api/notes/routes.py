from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from scripe_api.api.access import Access
from scripe_api.api.dependencies import CursorQuery, LimitQuery, ServicesDep, UnitOfWorkDep
from scripe_api.api.openapi import NOTE_LINKS, error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope, ListEnvelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import NotFound, Unprocessable
from scripe_api.notes import service
from scripe_api.notes.schemas import NoteCreate, NoteRead

router = APIRouter(route_class=GuardedRoute, tags=["notes"])

NotesReader = Annotated[Principal, Depends(Access(("notes:read",), "read"))]
NotesWriter = Annotated[Principal, Depends(Access(("notes:write",), "write"))]


@router.get(
    "/notes",
    response_model=ListEnvelope[NoteRead],
    summary="List a project's notes",
    response_description="A page of notes, newest first.",
    responses=error_responses(NotFound),
)
async def list_notes(
    principal: NotesReader,
    services: ServicesDep,
    project_id: Annotated[str, Query(alias="projectId", description="Required.")],
    folder_id: Annotated[
        str | None,
        Query(
            alias="folderId",
            description="Folders are not managed over the API and no note is in one: any "
            "folder id gives an empty page (empty: no filter).",
        ),
    ] = None,
    date_from: Annotated[str | None, Query(alias="dateFrom")] = None,
    date_to: Annotated[str | None, Query(alias="dateTo")] = None,
    limit: LimitQuery = None,
    cursor: CursorQuery = None,
) -> ListEnvelope[NoteRead]:
    """A project's notes, newest first (by `createdAt`). `dateFrom`/`dateTo` filter on the
    note's calendar date: its `slot.date`, or its `createdAt` when it has no slot (YYYY-MM-DD
    or ISO 8601 with offset, inclusive; a date `dateTo` means the end of that UTC day)."""
    page = await service.list_notes(
        services.database,
        principal,
        services.cursors,
        project_id=project_id,
        folder_id=folder_id,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return ListEnvelope[NoteRead].of(page, NoteRead.from_row)


@router.get(
    "/notes/{noteId}",
    response_model=Envelope[NoteRead],
    summary="Get a note",
    response_description="The note.",
    responses=error_responses(NotFound),
)
async def get_note(
    note_id: Annotated[str, Path(alias="noteId")], principal: NotesReader, services: ServicesDep
) -> Envelope[NoteRead]:
    """One note."""
    note = await service.read_note(services.database, principal, note_id)
    return Envelope[NoteRead](data=NoteRead.from_row(note))


@router.post(
    "/notes",
    response_model=Envelope[NoteRead],
    summary="Create a note",
    response_description="The new note.",
    responses={200: {"links": NOTE_LINKS}, **error_responses(NotFound, Unprocessable)},
)
async def create_note(
    body: NoteCreate, principal: NotesWriter, uow: UnitOfWorkDep
) -> Envelope[NoteRead]:
    """Save a note a generation can start from (`source.noteId`). With a `date` or a
    `contentType` the note also gets a calendar `slot`. Folders are not managed over the API:
    `folderId` may be null, any folder id is a `422 unprocessable`."""
    note = await service.create_note(uow, principal, body)
    return Envelope[NoteRead](data=NoteRead.from_row(note))
