"""A warm-up followed by a measured window, on the monotonic clock."""

from __future__ import annotations

import time


class Window:
    """Calls finishing between ``opens_at`` and ``closes_at`` are counted."""

    def __init__(self, warmup_seconds: float, duration_seconds: float) -> None:
        self.opens_at = time.monotonic() + warmup_seconds
        self.closes_at = self.opens_at + duration_seconds

    def running(self) -> bool:
        """True until the window closes: workers may start another call."""
        return time.monotonic() < self.closes_at

    def inside(self) -> bool:
        return self.opens_at <= time.monotonic() < self.closes_at

    def elapsed_seconds(self) -> float:
        """How long the window has been open; less than its duration when the
        workers stopped early on their call bound."""
        return max(0.0, min(time.monotonic(), self.closes_at) - self.opens_at)
