"""Periodic background jobs inside a service process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs ``work`` every ``interval_seconds`` until stopped; a failing run is
    logged and retried at the next tick."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], interval_seconds: float
    ) -> None:
        self.name = name
        self.work = work
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        # The flag ends the loop even if a library swallows the cancellation
        # (some network clients turn it into their own timeout error).
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval_seconds)
            if self._stopping:
                return
            try:
                await self.work()
            except Exception:
                log.exception("job %s failed; retrying next tick", self.name)
