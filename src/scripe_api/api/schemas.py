"""Shared response/request building blocks: camelCase models, timestamps, envelopes, errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from annotated_types import Ge
from fastapi import Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from scripe_api.core.clock import format_timestamp
from scripe_api.core.pagination import Page

T = TypeVar("T")

# ISO 8601 UTC with millisecond precision and a `Z` suffix: 2026-05-15T08:21:00.000Z.
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-05-15T08:21:00.000Z"}
    ),
]


def _whole_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer ≥ 0 in a JSON body, as JSON Schema counts integers: 1000 and 1000.0 (never 1000.5,
# "1000" or true). The bound sits inside, where it stays `minimum` in the schema.
NonNegativeJsonInt = Annotated[StrictInt, Ge(0), BeforeValidator(_whole_number)]


class ApiModel(BaseModel):
    """A resource as clients see it: camelCase fields, built from rows."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """From a database row whose column names are the fields' (snake_case) names."""
        return cls.model_validate(dict(row))


class RequestModel(BaseModel):
    """A request body: strict about unknown keys at every level (they are a 400)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")


class Envelope(BaseModel, Generic[T]):
    data: T


class Pagination(BaseModel):
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
    has_more: bool = Field(description="Loop until this is false.")


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], T]) -> ListEnvelope[T]:
        """A page of rows as the API lists them."""
        return cls(
            data=[convert(item) for item in page.items],
            pagination=Pagination(next_cursor=page.next_cursor, has_more=page.has_more),
        )


_OBJECT = {"type": "object", "additionalProperties": True}


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    request_id: str = Field(examples=["req_01J9ZA7Q1K6W4X2Y3Z5A6B7C8D"])
    docs_url: str
    # Absent rather than null when there is nothing to say (API.md §1.4).
    details: Annotated[dict[str, Any] | None, WithJsonSchema(_OBJECT)] = None
    meta: Annotated[dict[str, Any] | None, WithJsonSchema(_OBJECT)] = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def json_response(body: bytes, status_code: int = 200) -> Response:
    """JSON already rendered (from rows): sent as is."""
    return Response(content=body, status_code=status_code, media_type="application/json")
