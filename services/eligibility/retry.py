"""Retrying a call with exponential backoff and jitter, within a bound.

The waits are computed up front from a random source the caller may seed, and
the runner waits through an injectable ``sleep``, so tests wait for nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.common.config import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class RetrySchedule:
    """At most ``max_attempts`` calls. Wait ``n`` (from 0) has the base
    ``initial_delay_seconds * multiplier**n``, capped at ``max_delay_seconds``,
    and is drawn from ``[base * (1 - jitter_ratio), base]``. Waits that would
    take the total past ``max_total_wait_seconds`` are dropped."""

    max_attempts: int = 4
    initial_delay_seconds: float = 0.5
    multiplier: float = 2.0
    max_delay_seconds: float = 8.0
    max_total_wait_seconds: float = 15.0
    jitter_ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(
                f"max_attempts must be at least 1, got {self.max_attempts}"
            )
        if self.initial_delay_seconds <= 0 or self.max_delay_seconds <= 0:
            raise ConfigError("retry delays must be positive")
        if self.multiplier < 1:
            raise ConfigError(f"multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter_ratio < 1:
            raise ConfigError(
                f"jitter_ratio must be in [0, 1), got {self.jitter_ratio}"
            )

    def base_delays_seconds(self) -> list[float]:
        """The waits before jitter: one fewer than the attempts."""
        return [
            min(self.initial_delay_seconds * self.multiplier**n, self.max_delay_seconds)
            for n in range(self.max_attempts - 1)
        ]

    def delays_seconds(self, rng: random.Random) -> list[float]:
        """The jittered waits between attempts, within the total bound."""
        waits: list[float] = []
        for base in self.base_delays_seconds():
            wait = base * (1 - self.jitter_ratio * rng.random())
            if sum(waits) + wait > self.max_total_wait_seconds:
                break
            waits.append(wait)
        return waits


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    succeeded: Callable[[T], bool],
    delays_seconds: Sequence[float],
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    before_wait: Callable[[int, float], Awaitable[object]] | None = None,
) -> T:
    """Calls until ``succeeded`` holds or the waits run out; returns the last
    result. ``before_wait(attempt, delay_seconds)`` runs before each wait, for
    example to extend a hold for as long as the booking waits."""
    result = await call()
    for attempt, delay_seconds in enumerate(delays_seconds, start=1):
        if succeeded(result):
            return result
        if before_wait is not None:
            await before_wait(attempt, delay_seconds)
        await sleep(delay_seconds)
        result = await call()
    return result
