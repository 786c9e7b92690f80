"""Ids are ULIDs as the ULID spec (and python-ulid) encodes them, and sort by creation time."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from scripe_api.core.ids import new_id, ulid_of


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_encoding_matches_the_ulid_spec(value: int) -> None:
    assert ulid_of(value) == str(ULID.from_int(value))


def test_new_ids_carry_the_prefix_and_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    job_id = new_id("job")
    after = time.time_ns() // 1_000_000
    prefix, _, ulid = job_id.partition("_")
    assert prefix == "job"
    assert len(ulid) == 26
    assert before <= ULID.from_str(ulid).milliseconds <= after


@given(
    st.integers(min_value=0, max_value=2**48 - 2),
    st.integers(min_value=0, max_value=2**80 - 1),
    st.integers(min_value=0, max_value=2**80 - 1),
)
def test_ids_of_later_milliseconds_sort_later(millis: int, first: int, second: int) -> None:
    assert ulid_of(millis << 80 | first) < ulid_of((millis + 1) << 80 | second)
