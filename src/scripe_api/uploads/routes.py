from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.requests import ClientDisconnect

from scripe_api.api.access import Access
from scripe_api.api.dependencies import ServicesDep, UnitOfWorkDep
from scripe_api.api.openapi import error_responses
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import Envelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError, InvalidRequest, PayloadTooLarge, Unprocessable
from scripe_api.uploads import service
from scripe_api.uploads.errors import UploadAlreadyCompleted, UploadUrlInvalid
from scripe_api.uploads.schemas import UploadCreate, UploadRead
from scripe_api.uploads.storage import DiskStorage

router = APIRouter(route_class=GuardedRoute, tags=["uploads"])

UploadsWriter = Annotated[Principal, Depends(Access(("sources:write", "knowledge:write"), "write"))]


@router.post(
    "/uploads",
    response_model=Envelope[UploadRead],
    summary="Create an upload URL",
    response_description="A single-use URL to PUT the file's bytes to.",
    responses=error_responses(Unprocessable),
)
async def create_upload(
    body: UploadCreate,
    principal: UploadsWriter,
    services: ServicesDep,
    uow: UnitOfWorkDep,
    request: Request,
) -> Envelope[UploadRead]:
    """Step one of a file source or knowledge document: PUT the raw bytes to `uploadUrl` (no
    Authorization; the same Content-Type; at most `maxSizeBytes`; once, within 15 minutes),
    then pass `uploadId` to `POST /v1/sources` or `POST /v1/knowledge`."""
    minted = await service.mint(
        uow, services.settings, services.storage, principal, body, str(request.base_url)
    )
    upload = minted.upload
    return Envelope[UploadRead](
        data=UploadRead(
            id=upload["id"],
            upload_url=minted.url,
            content_type=upload["content_type"],
            max_size_bytes=upload["max_size_bytes"],
            expires_at=upload["expires_at"],
        )
    )


@router.put(
    "/uploads/{uploadId}/content",
    status_code=200,
    summary="Upload a file's bytes",
    response_description="Stored: reference the upload from a source or a knowledge document.",
    responses={
        200: {"content": None},
        **error_responses(
            InvalidRequest, UploadUrlInvalid, PayloadTooLarge, UploadAlreadyCompleted
        ),
    },
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "The raw bytes, sent with the Content-Type the upload was minted for.",
        },
    },
)
async def put_upload_content(
    upload_id: Annotated[str, Path(alias="uploadId")],
    expires: Annotated[int, Query(description="From the minted URL.")],
    signature: Annotated[str, Query(description="From the minted URL.")],
    services: ServicesDep,
    request: Request,
) -> Response:
    """The URL `POST /v1/uploads` returns, when the service keeps files itself (the embedded
    default; with S3-compatible storage the URL is the store's). No Authorization: the signed
    URL is the permission."""
    storage = services.storage
    try:
        if not isinstance(storage, DiskStorage):
            raise UploadUrlInvalid("This service stores uploads elsewhere: use the minted URL.")
        await service.receive(
            services.database,
            services.settings,
            storage,
            upload_id,
            expires=expires,
            signature=signature,
            content_type=request.headers.get("content-type"),
            content_length=request.headers.get("content-length"),
            chunks=request.stream(),
        )
    except AppError:
        await _drain(request)
        raise
    return Response(status_code=200)


_DRAIN_MAX_BYTES = 32 * 1024 * 1024
_DRAIN_MAX_SECONDS = 10.0


async def _drain(request: Request) -> None:
    """Read and drop the rest of a refused upload (within bounds) before answering: most
    clients send the whole body before reading the answer, and closing the connection under
    it would show them a reset instead of the error."""
    read = 0
    with contextlib.suppress(TimeoutError, ClientDisconnect, RuntimeError):
        async with asyncio.timeout(_DRAIN_MAX_SECONDS):
            async for chunk in request.stream():
                read += len(chunk)
                if read > _DRAIN_MAX_BYTES:
                    return
