"""Job-level failures: they end up on the Job as errorCode/errorMessage, never as HTTP errors."""

from __future__ import annotations

from scripe_api.core.errors import AppError


class NotCancellable(AppError):
    code = "not_cancellable"
    status_code = 409
    default_message = "Only QUEUED jobs can be cancelled in v1."


class JobFailure(Exception):
    """A failure of one attempt. Transient ones are retried with backoff (at most
    `job_max_attempts` attempts); permanent ones fail the job at once."""

    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
