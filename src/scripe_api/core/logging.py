"""Logging: JSON lines in production, readable lines in dev; every line carries the request id.

Secrets never reach a log line: keys are not logged anywhere, and exceptions are logged by type
where their text could carry input. As a last line of defence every formatted line is scrubbed
of API keys (whatever a client pasted where: a query string in an access line, a body field in
a SQL parameter at DEBUG) and of the secrets in the settings (provider keys, server secrets).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator, MutableMapping
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

import orjson

from scripe_api.core.redaction import API_KEY_TEXT
from scripe_api.settings import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# The request's ASGI scope: once authentication has put the principal in its state (and routing
# its path parameters), every line the request logs names the workspace and the job.
_request_scope_var: contextvars.ContextVar[MutableMapping[str, Any] | None] = (
    contextvars.ContextVar("request_scope", default=None)
)
# The job a worker is running in this task (lines of its attempt carry `job_id`).
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

REDACTED_KEY = "[redacted key]"
REDACTED = "[redacted]"
# Shorter configured "secrets" (placeholders in tests) would redact ordinary words.
_MIN_SECRET_LENGTH = 8


def bind_request(request_id: str, scope: MutableMapping[str, Any]) -> None:
    """Called by the outermost middleware for each request, in the request's own context."""
    request_id_var.set(request_id)
    _request_scope_var.set(scope)


@contextlib.contextmanager
def bound_job(job_id: str) -> Iterator[None]:
    """Lines logged inside the block (a job's attempt in a worker) carry `job_id`."""
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        scope = _request_scope_var.get()
        record.request_id = request_id
        record.request_suffix = f" [{request_id}]" if request_id else ""
        record.workspace_id = getattr(record, "workspace_id", None) or _workspace_of(scope)
        record.job_id = getattr(record, "job_id", None) or job_id_var.get() or _job_of(scope)
        return True


def _workspace_of(scope: MutableMapping[str, Any] | None) -> str | None:
    principal = (scope.get("state") or {}).get("principal") if scope is not None else None
    workspace_id = getattr(principal, "workspace_id", None)
    return workspace_id if isinstance(workspace_id, str) else None


def _job_of(scope: MutableMapping[str, Any] | None) -> str | None:
    params = scope.get("path_params") if scope is not None else None
    job_id = params.get("jobId") if isinstance(params, dict) else None
    return job_id if isinstance(job_id, str) else None


class _RedactingHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        super().__init__(stream)
        # Also as JSON-escaped, the way a JSON line would hold them.
        escaped = [orjson.dumps(secret).decode()[1:-1] for secret in secrets]
        self._secrets = sorted(set(secrets + escaped), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = API_KEY_TEXT.sub(REDACTED_KEY, super().format(record))
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line


def _secrets_of(settings: Settings) -> list[str]:
    values = [settings.openai_api_key, settings.anthropic_api_key]
    values += list(settings.secret_keys.values())
    plain = [value.get_secret_value() for value in values if value is not None]
    # Passwords inside the connection URLs.
    for url in (settings.database_url, settings.redis_url):
        password = urlsplit(url).password
        if password:
            plain.append(unquote(password))
    return [secret for secret in plain if len(secret) >= _MIN_SECRET_LENGTH]


class JsonFormatter(logging.Formatter):
    # The second a line was logged in, formatted once per second (strftime costs more than the
    # rest of a line).
    _second: int = -1
    _second_text: str = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("request_id", "workspace_id", "job_id"):
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(settings: Settings) -> None:
    """Called once by the CLI entry points (never at import)."""
    handler = _RedactingHandler(sys.stderr, _secrets_of(settings))
    handler.addFilter(_ContextFilter())
    log_format = settings.log_format or ("console" if settings.is_dev else "json")
    if log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)-7s %(name)s %(message)s%(request_suffix)s", "%H:%M:%S"
        )
    handler.setFormatter(formatter)
    # No format here shows the process, thread or multiprocessing names: skip looking them up
    # for every record (os.getpid() is a system call).
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level)
    # arq's own lines (each job taken and finished, each cron run) only at DEBUG: the worker
    # logs one line per transition of a job itself (jobs.execution).
    logging.getLogger("arq").setLevel(level if level == logging.DEBUG else logging.WARNING)
    # The HTTP client's own lines never: httpcore's DEBUG lines carry request and response
    # headers (a provider's Authorization, a webhook's signatures), httpx's INFO line each URL
    # we call (a receiver's URL may carry its own token). Our callers log what matters.
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
