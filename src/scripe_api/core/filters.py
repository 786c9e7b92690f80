"""Parsing of list filters shared by every list endpoint (400 invalid_request on bad input)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from scripe_api.core.errors import InvalidRequest

_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class DateRange:
    """`start <= createdAt < end`; either bound may be open."""

    start: datetime | None
    end: datetime | None

    def as_filter(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }


def parse_csv(value: str | None, allowed: Iterable[str], name: str) -> list[str] | None:
    """`a,b` → ["a", "b"] (sorted, deduplicated); an unknown value is a 400 naming it."""
    if value is None:
        return None
    allowed_set = set(allowed)
    items = sorted({item.strip() for item in value.split(",") if item.strip()})
    if not items:
        raise InvalidRequest(f"{name} must list at least one value.", details={"field": name})
    unknown = [item for item in items if item not in allowed_set]
    if unknown:
        raise InvalidRequest(
            f"Unknown {name} value '{unknown[0]}'; "
            f"expected one of {', '.join(sorted(allowed_set))}.",
            details={"field": name},
        )
    return items


def _parse_bound(value: str, name: str, *, end_of_day: bool) -> datetime:
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _bad_date(name) from None
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad_date(name) from None
    if moment.tzinfo is None:
        raise InvalidRequest(
            f"{name} needs a UTC offset (e.g. 2026-05-15T08:00:00Z).", details={"field": name}
        )
    moment = moment.astimezone(UTC)
    # An inclusive instant bound becomes an exclusive one at storage (millisecond) precision.
    return (
        moment.replace(microsecond=moment.microsecond // 1000 * 1000) + _MILLISECOND
        if end_of_day
        else moment
    )


def _bad_date(name: str) -> InvalidRequest:
    return InvalidRequest(
        f"{name} must be YYYY-MM-DD or an ISO 8601 timestamp with offset.", details={"field": name}
    )


def parse_date_range(date_from: str | None, date_to: str | None) -> DateRange:
    start = _parse_bound(date_from, "dateFrom", end_of_day=False) if date_from else None
    end = _parse_bound(date_to, "dateTo", end_of_day=True) if date_to else None
    if start is not None and end is not None and start >= end:
        raise InvalidRequest("dateFrom must not be after dateTo.", details={"field": "dateFrom"})
    return DateRange(start=start, end=end)
