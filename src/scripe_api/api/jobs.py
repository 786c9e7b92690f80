"""The HTTP side of every job-submitting operation: the 202 as of the commit, the replay of a
keyed retry, and the optional sync wait (`wait_for_completion_ms`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request, Response

from scripe_api.api.idempotency import mark_first, replay
from scripe_api.api.rendering import response_of
from scripe_api.api.schemas import json_response
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError
from scripe_api.idempotency.service import KeyedRequest, ran_under_the_key
from scripe_api.jobs import service
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
    wait_ms: int = 0,
) -> Response:
    try:
        submitted = await service.submit_job(
            services.database,
            services.resources.redis,
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
    wait_ms = min(wait_ms, services.settings.wait_max_ms)
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
