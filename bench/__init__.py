"""Throughput and oversell benchmark of the vaxbook mesh: ``make bench``."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """The benchmark could not run; the message says what failed."""
