"""Natural batching: calls that arrive while one batch is running go together in the next.

A lone call runs at once (no timer, no added latency); under load, the calls that queue behind a
running batch share one round trip. `run` gets the batch's items in arrival order and returns
one result per item, in the same order. An exception from `run` is every caller's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    def __init__(
        self, run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], max_batch: int = 64
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._draining is None:
            # A batch belongs to no one caller: it runs outside the first caller's context
            # (its request id, say, would otherwise be on every line the batch logs).
            self._draining = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    results = await self._run([item for item, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = None
            # Cancelled with calls still waiting (shutdown): they are cancelled too.
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
