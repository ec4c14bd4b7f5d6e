"""Exponential backoff with jitter, within a bound.

The eligibility service waits for nothing itself: it tells the caller how long
to wait before asking again, drawn from a random source the caller may seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.common.config import ConfigError


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

    def wait_seconds(self, attempt: int, rng: random.Random) -> float | None:
        """The jittered wait after failed call ``attempt`` (from 0), for a
        caller that keeps no state between calls; ``None`` once the schedule
        is spent. Waits are counted at their base, the most jitter can give,
        so the real total never passes ``max_total_wait_seconds``."""
        bases = self.base_delays_seconds()
        if not 0 <= attempt < len(bases):
            return None
        if sum(bases[: attempt + 1]) > self.max_total_wait_seconds:
            return None
        return bases[attempt] * (1 - self.jitter_ratio * rng.random())

    def delays_seconds(self, rng: random.Random) -> list[float]:
        """The jittered waits between attempts, within the total bound."""
        waits: list[float] = []
        for base in self.base_delays_seconds():
            wait = base * (1 - self.jitter_ratio * rng.random())
            if sum(waits) + wait > self.max_total_wait_seconds:
                break
            waits.append(wait)
        return waits
