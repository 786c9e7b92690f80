"""Job-level failures: they end up on the Job as errorCode/errorMessage, never as HTTP errors."""

from __future__ import annotations


class JobFailure(Exception):
    """A failure of one attempt. Transient ones are retried with backoff (at most
    `job_max_attempts` attempts); permanent ones fail the job at once."""

    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
