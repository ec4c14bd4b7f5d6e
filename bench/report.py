"""The benchmark's outputs: ``bench/results.json`` and a table on stdout."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

# The figures the table shows, in order.
FIGURES = (
    "echo_rps",
    "reserve_rps",
    "reserve_to_echo",
    "gateway_reserve_rps",
    "gateway_to_grpc",
    "booking_rps",
    "booking_to_echo",
    "hot_slot_redis_holds_per_s",
    "hot_slot_db_holds_per_s",
    "redis_to_db_hot_slot",
    "oversold",
    "contention_pending",
    "relay_events_per_s",
    "outbox_lag_p99_s",
    "scans_per_s",
    "scan_to_echo",
)
# How a figure's value compares with its target's bound.
_RELATIONS = {">=": operator.ge, "<=": operator.le, "=": operator.eq}


@dataclass(frozen=True)
class Target:
    figure: str
    relation: str
    bound: float

    def met(self, value: float) -> bool:
        return _RELATIONS[self.relation](value, self.bound)

    def __str__(self) -> str:
        return f"{self.relation} {self.bound:g}"


def targets(contention_seats: int) -> dict[str, Target]:
    return {
        target.figure: target
        for target in (
            Target("reserve_to_echo", ">=", 0.5),
            Target("gateway_to_grpc", ">=", 0.7),
            Target("booking_to_echo", ">=", 0.2),
            Target("redis_to_db_hot_slot", ">=", 3),
            Target("oversold", "=", 0),
            Target("contention_pending", "=", contention_seats),
            Target("outbox_lag_p99_s", "<=", 1),
            Target("scan_to_echo", ">=", 1),
        )
    }


def write_results(results: dict, path: Path = RESULTS_PATH) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def table(results: dict) -> str:
    """One aligned line per figure: its value, its target and whether it is met."""
    wanted = targets(results["parameters"]["contention_seats"])
    rows = [("figure", "value", "target", "status")]
    for figure in FIGURES:
        value = results[figure]
        target = wanted.get(figure)
        status = "" if target is None else _status(target.met(value))
        rows.append((figure, _number(value), str(target or ""), status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{name:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}  {status}"
        for name, value, target, status in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def _status(met: bool) -> str:
    return "met" if met else "NOT MET"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"
