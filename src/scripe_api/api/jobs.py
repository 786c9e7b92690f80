"""The HTTP side of every job-submitting operation: the 202 as of the commit, the replay of a
keyed retry, and the optional sync wait (`wait_for_completion_ms`, or `Prefer: wait=N`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from scripe_api.api.idempotency import mark_first, replay
from scripe_api.api.rendering import response_of
from scripe_api.api.schemas import json_response
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError
from scripe_api.idempotency.service import KeyedRequest, ran_under_the_key
from scripe_api.jobs import deadlines, service
from scripe_api.jobs.submission import JobRequest

if TYPE_CHECKING:
    from scripe_api.api.state import Services


async def submitted_response(
    request: Request,
    services: Services,
    principal: Principal,
    key: KeyedRequest | None,
    build: Callable[[], JobRequest],
    *,
    wait_ms: int | None = None,
) -> Response:
    """`wait_ms` is the body's `wait_for_completion_ms` (None: not sent); without it, a
    `Prefer: wait=N` header asks for the same wait (RFC 7240), and the answer then says
    `Preference-Applied: wait=N`."""
    # Request validation: before the Idempotency-Key is claimed.
    deadline = deadlines.cancel_after_seconds(request.headers.get(deadlines.HEADER))
    if deadline is not None:
        build = _with_deadline(build, deadline)
    try:
        submitted = await service.submit_job(
            services.database,
            services.queue,
            services.pipeline.idempotency,
            principal,
            key,
            build,
            request.state.request_id,
        )
    except AppError as error:
        if key is not None and ran_under_the_key(error):
            mark_first(request)  # this request's own answer, not a replay
        raise
    if submitted.is_replay:
        # The recorded envelope as of the first commit: the client polls from there.
        return replay(request, submitted.response)
    if key is not None:
        mark_first(request)
    max_ms = services.settings.wait_max_ms
    preferred = None if wait_ms is not None else preferred_wait_seconds(request, max_ms // 1000)
    if preferred is not None:
        wait_ms = preferred * 1000
        if preferred > 0 and submitted.job is not None:
            request.state.response_headers[APPLIED_HEADER] = f"wait={preferred}"
    wait_ms = min(wait_ms or 0, max_ms)
    if wait_ms <= 0 or submitted.job is None:
        return response_of(submitted.response)
    body = await service.wait_for_job(
        services.database,
        services.resources.redis,
        services.completions,
        principal,
        submitted.job,
        wait_ms,
    )
    return json_response(body, status_code=202)


APPLIED_HEADER = "Preference-Applied"


def _with_deadline(build: Callable[[], JobRequest], seconds: int) -> Callable[[], JobRequest]:
    return lambda: dataclasses.replace(build(), cancel_after_seconds=seconds)


# `wait=N` among a Prefer header's comma-separated preferences (a quoted value too; a
# preference's own `;` parameters are ignored).
_WAIT = re.compile(r'^\s*wait\s*=\s*"?(\d{1,9})"?\s*(?:;.*)?$', re.IGNORECASE)


def preferred_wait_seconds(request: Request, max_seconds: int) -> int | None:
    """The wait a `Prefer` header asks for, clamped to `max_seconds`; None when it asks for
    none. A preference that cannot be read is ignored, as RFC 7240 says."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            if match := _WAIT.match(preference):
                return min(int(match.group(1)), max_seconds)
    return None


def submit_headers_openapi() -> dict[str, Any]:
    """The headers of a job-submitting POST, for OpenAPI: `Cancel-After`, and `Prefer` with
    its `Preference-Applied` answer."""
    return {
        "parameters": [
            {
                "name": deadlines.HEADER,
                "in": "header",
                "required": False,
                "description": "A deadline for the job to start: `30s`, `5m`, `2h` (1 s to "
                "24 h). Not started by then, the job is CANCELLED with `errorCode: "
                '"deadline_exceeded"`, refunded and never run; one already RUNNING finishes. '
                "The Job shows it as `deadlineAt`. Part of the Idempotency-Key fingerprint.",
                "schema": {"type": "string", "pattern": r"^\s*\d{1,6}[smhSMH]\s*$"},
                "example": "5m",
            },
            {
                "name": "Prefer",
                "in": "header",
                "required": False,
                "description": "`wait=N` (seconds, at most 25): the standard spelling of "
                "`wait_for_completion_ms = N × 1000` (RFC 7240); the body field wins when both "
                "are sent. Other preferences are ignored.",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "202": {
                "headers": {
                    APPLIED_HEADER: {
                        "description": "`wait=N` when the server waited as `Prefer` asked.",
                        "schema": {"type": "string"},
                    }
                }
            }
        },
    }
