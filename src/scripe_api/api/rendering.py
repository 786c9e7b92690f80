"""Responses as the API sends them: a `Response` an operation built, or its model serialized
like FastAPI would (and kept as bytes, the way an Idempotency-Key record stores them)."""

from __future__ import annotations

from fastapi import Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, serialize_response

from scripe_api.idempotency.service import StoredResponse

JSON = "application/json"
# What a recorded response keeps of its headers besides its status and body.
KEPT_HEADERS = ("Location", "Content-Type")


async def render(route: APIRoute, result: object) -> StoredResponse:
    """`result` as FastAPI would send it for `route`."""
    if isinstance(result, Response):
        headers = {name: result.headers[name] for name in KEPT_HEADERS if name in result.headers}
        return StoredResponse(result.status_code, bytes(result.body), headers)
    status = route.status_code or 200
    is_default_class = isinstance(route.response_class, DefaultPlaceholder)
    content = await serialize_response(
        field=route.response_field,
        response_content=result,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        dump_json=route.response_field is not None and is_default_class,
    )
    if isinstance(content, bytes):
        return StoredResponse(status, content, {"Content-Type": JSON})
    response_class: type[Response] = (
        route.response_class.value
        if isinstance(route.response_class, DefaultPlaceholder)
        else route.response_class
    )
    rendered = response_class(content, status_code=status)
    return StoredResponse(
        status, bytes(rendered.body), {"Content-Type": rendered.media_type or JSON}
    )


async def respond(route: APIRoute, result: object) -> Response:
    if isinstance(result, Response):
        return result
    return response_of(await render(route, result))


def response_of(stored: StoredResponse) -> Response:
    headers = {name: value for name, value in stored.headers.items() if name != "Content-Type"}
    return Response(
        content=stored.body,
        status_code=stored.status,
        headers=headers,
        media_type=stored.headers.get("Content-Type"),
    )
