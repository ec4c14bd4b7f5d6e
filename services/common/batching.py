"""Handling many concurrent requests with one call.

Under a surge, every reservation would otherwise pay for its own database
statement and its own call to inventory. A :class:`Batcher` gathers what
callers submit while earlier batches are in flight and hands it over in one
call, so the fixed cost of a round trip is shared. When the service is idle a
batch holds a single item and adds no delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Sends submitted items to ``handle`` in batches.

    ``handle`` returns one result per item, in order; a result that is an
    exception is raised to that item's caller alone. An exception raised by
    ``handle`` itself reaches every caller of the batch.
    """

    def __init__(
        self,
        handle: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
        max_batch: int = 100,
        max_in_flight: int = 4,
    ) -> None:
        self.handle = handle
        self.max_batch = max_batch
        self._slots = asyncio.Semaphore(max_in_flight)
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task] = set()

    async def submit(self, item: Item) -> Result:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush(self) -> None:
        async with self._slots:
            # Everything submitted while we waited for a slot goes together.
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            self._flush_scheduled = False
            if self._waiting:
                self._flush_scheduled = True
                task = asyncio.create_task(self._flush())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await self._run(batch)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self.handle([item for item, _ in batch])
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
