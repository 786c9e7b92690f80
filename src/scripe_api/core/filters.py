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
    """`a,b` → ["a", "b"] (sorted, deduplicated); an unknown value is a 400 naming it. Absent
    or empty (`status=`, as a form with nothing chosen sends it) means no filter, like every
    other empty query parameter."""
    if value is None or not value.strip():
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


# Python's calendar (and so every stored timestamp) spans years 1 to 9999.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _parse_bound(value: str, name: str, *, end_of_day: bool) -> datetime | None:
    """The bound as an instant: inclusive for `dateFrom`, exclusive for `dateTo` (end of day or
    the next millisecond). A bound past the calendar's edge (`dateTo=9999-12-31`, an offset that
    pushes a bound beyond year 9999 or before year 1) is clamped: no bound at all where every
    row is inside it, the calendar's edge where none is."""
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _bad_date(name) from None
        start = datetime.combine(day, time(0), tzinfo=UTC)
        if not end_of_day:
            return start
        return None if day == date.max else start + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad_date(name) from None
    if moment.tzinfo is None:
        raise InvalidRequest(
            f"{name} needs a UTC offset (e.g. 2026-05-15T08:00:00Z).", details={"field": name}
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        # Before year 1 or after year 9999 in UTC.
        is_late = moment.year > 1
        if end_of_day:
            return None if is_late else _EARLIEST
        return _LATEST if is_late else None
    if not end_of_day:
        return moment
    # An inclusive instant bound becomes an exclusive one at storage (millisecond) precision.
    truncated = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return None if _LATEST - truncated < _MILLISECOND else truncated + _MILLISECOND


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
