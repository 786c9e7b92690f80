"""The upload errors of INGEST.md §6."""

from __future__ import annotations

from scripe_api.core.errors import AppError


class UploadUrlInvalid(AppError):
    code = "upload_url_invalid"
    status_code = 403
    default_message = "The upload URL is invalid or has expired; mint a new one."


class UploadAlreadyCompleted(AppError):
    code = "upload_already_completed"
    status_code = 409
    default_message = "This upload has already received its bytes."


class UploadConsumed(AppError):
    code = "upload_consumed"
    status_code = 409
    default_message = "This upload was already used by another source or document."


class UploadNotCompleted(AppError):
    code = "upload_not_completed"
    status_code = 422
    default_message = "This upload has not received its bytes yet."
