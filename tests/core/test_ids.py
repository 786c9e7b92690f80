"""Ids are ULIDs as the ULID spec (and python-ulid) encodes them, and sort by creation time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from scripe_api.core.ids import new_id, new_request_id, ulid_of


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_encoding_matches_the_ulid_spec(value: int) -> None:
    assert ulid_of(value) == str(ULID.from_int(value))


def test_new_ids_carry_the_prefix_and_the_current_time() -> None:
    makers: list[tuple[Callable[[], str], str]] = [
        (lambda: new_id("job"), "job"),
        (new_request_id, "req"),
    ]
    for make, expected in makers:
        before = time.time_ns() // 1_000_000
        made = make()
        after = time.time_ns() // 1_000_000
        prefix, _, ulid = made.partition("_")
        assert prefix == expected
        assert len(ulid) == 26
        assert before <= ULID.from_str(ulid).milliseconds <= after


def test_request_ids_differ_in_a_forked_child() -> None:
    """Request ids come from the process's PRNG: a forked child must not repeat its parent's."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_request_id()[-16:] for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 4096).decode()
    os.close(read)
    ours = "".join(new_request_id()[-16:] for _ in range(8))
    assert len(theirs) == len(ours) == 128
    assert theirs != ours
    assert len({new_request_id() for _ in range(10_000)}) == 10_000


@given(
    st.integers(min_value=0, max_value=2**48 - 2),
    st.integers(min_value=0, max_value=2**80 - 1),
    st.integers(min_value=0, max_value=2**80 - 1),
)
def test_ids_of_later_milliseconds_sort_later(millis: int, first: int, second: int) -> None:
    assert ulid_of(millis << 80 | first) < ulid_of((millis + 1) << 80 | second)
