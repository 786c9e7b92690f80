"""Natural batching: a lone call runs at once, calls made meanwhile share the next batch."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence

import pytest

from scripe_api.core.batching import Coalescer


class Recorder:
    """A batch runner that holds each batch until released and remembers what it ran."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def run(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [item * 10 for item in items]


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_lone_call_runs_at_once_and_later_ones_share_the_next_batch() -> None:
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder.run)
    first = asyncio.create_task(coalesce(1))
    await _until(lambda: recorder.batches == [[1]])
    # While the first batch is out, three more calls queue up: they go together, in order.
    others = [asyncio.create_task(coalesce(n)) for n in (2, 3, 4)]
    await _until(lambda: all(not task.done() for task in others))
    recorder.release.set()
    assert await first == 10
    assert [await task for task in others] == [20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_batches_are_capped() -> None:
    recorder = Recorder()
    recorder.release.set()
    coalesce: Coalescer[int, int] = Coalescer(recorder.run, max_batch=2)
    results = await asyncio.gather(*(coalesce(n) for n in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert all(len(batch) <= 2 for batch in recorder.batches)
    assert sorted(n for batch in recorder.batches for n in batch) == list(range(5))


async def test_a_failed_batch_fails_its_callers_only() -> None:
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder.run)
    doomed = [asyncio.create_task(coalesce(n)) for n in (1, 2)]
    await _until(lambda: len(recorder.batches) == 1)
    recorder.fail_with = ConnectionError("down")
    recorder.release.set()
    for task in doomed:
        with pytest.raises(ConnectionError):
            await task
    # The next call runs in a batch of its own, and succeeds.
    recorder.fail_with = None
    assert await coalesce(7) == 70


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder.run)
    first = asyncio.create_task(coalesce(1))
    await _until(lambda: len(recorder.batches) == 1)
    gone = asyncio.create_task(coalesce(2))
    kept = asyncio.create_task(coalesce(3))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.release.set()
    assert await first == 10
    assert await kept == 30
    assert gone.cancelled()


async def test_a_batch_runs_outside_its_first_callers_context() -> None:
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")
    seen: list[str] = []

    async def run(items: Sequence[int]) -> list[int]:
        seen.append(caller.get())
        return list(items)

    coalesce: Coalescer[int, int] = Coalescer(run)
    caller.set("first request")
    assert await coalesce(1) == 1
    assert seen == ["none"]
