"""Timestamps as the API speaks them: UTC, millisecond precision, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from scripe_api.core.clock import format_timestamp, from_epoch_ms, to_epoch_ms, utc_now


def test_format_is_utc_milliseconds_with_z() -> None:
    moment = datetime(2026, 5, 15, 8, 21, 0, 0, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-05-15T08:21:00.000Z"
    assert format_timestamp(moment.replace(microsecond=999999)) == "2026-05-15T08:21:00.999Z"


def test_other_offsets_are_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2026, 5, 15, 10, 21, 0, 5000, tzinfo=paris)
    assert format_timestamp(moment) == "2026-05-15T08:21:00.005Z"


def test_epoch_milliseconds_round_trip_exactly() -> None:
    moment = datetime(2026, 5, 15, 8, 21, 0, 123000, tzinfo=UTC)
    assert to_epoch_ms(moment) == 1778833260123
    assert from_epoch_ms(to_epoch_ms(moment)) == moment


def test_now_is_truncated_to_milliseconds() -> None:
    assert utc_now().microsecond % 1000 == 0
    assert utc_now().tzinfo is UTC
