"""Waiting for asynchronous outcomes without fixed sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_seconds: float = 10.0
) -> None:
    """Polls ``check`` until it is true; fails after ``timeout_seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_seconds}s")
        await asyncio.sleep(0.05)
