"""Drift: where a clinic's Redis side differs from what PostgreSQL implies.

Given a PostgreSQL snapshot, a loaded clinic's Redis side should say what a
rebuild from that snapshot would write: each slot's capacity and committed
seats and each vaccine's doses and committed doses as PostgreSQL has them,
each ``:held`` counter equal to the holds of that slot or vaccine in the hold
info, no hold PostgreSQL has already ended, and every live database-path hold.
A used hold (its dose given) needs nothing of its own: both sides took its dose
out of the stock and the committed doses and kept its seat committed, and as a
hold PostgreSQL knows it is ended, so Redis must not hold it live.
"""

from __future__ import annotations

from collections import Counter as Tally

from services.inventory.redis_gate import ClinicSnapshot, RedisClinic, RedisHold


def find_drift(snapshot: ClinicSnapshot, redis: RedisClinic) -> frozenset[str]:
    """Each difference as one line naming the counter or hold; empty when the
    two sides agree.

    A clinic Redis has not loaded has no drift: the next script that touches
    it rebuilds it from PostgreSQL first. Only the counters are compared;
    other fields of the two hashes are left to the scripts that write them.
    """
    if not redis.loaded:
        return frozenset()
    seats_held = Tally(hold.slot_id for hold in redis.holds.values())
    doses_held = Tally(hold.vaccine for hold in redis.holds.values())
    seats = _expected(snapshot.slots, "capacity", seats_held)
    doses = _expected(snapshot.doses, "doses", doses_held)
    return frozenset(
        _counter_drift("seats", "capacity", redis.seats, seats)
        + _counter_drift("doses", "doses", redis.doses, doses)
        + _hold_drift(snapshot, redis.holds)
    )


def _expected(
    totals: dict[str, tuple[int, int]], total: str, held: Tally
) -> dict[str, int]:
    expected = {}
    for key, (amount, committed) in totals.items():
        expected[f"{key}:{total}"] = amount
        expected[f"{key}:committed"] = committed
        expected[f"{key}:held"] = held[key]
    return expected


def _counter_drift(
    name: str, total: str, actual: dict[str, int], expected: dict[str, int]
) -> list[str]:
    lines = []
    counters = (f":{total}", ":committed", ":held")
    fields = {field for field in actual if field.endswith(counters)}
    for field in sorted(fields | expected.keys()):
        # The scripts read a missing committed or held count as 0, and
        # setting a new slot's capacity writes only the capacity.
        missing = None if field.endswith(f":{total}") else 0
        found, wanted = actual.get(field, missing), expected.get(field, missing)
        if found != wanted:
            lines.append(
                f"{name} {field}: Redis {_shown(found)}, expected {_shown(wanted)}"
            )
    return lines


def _shown(count: int | None) -> str:
    return "absent" if count is None else str(count)


def _hold_drift(snapshot: ClinicSnapshot, holds: dict[str, RedisHold]) -> list[str]:
    live_in_database = {hold_id for hold_id, *_ in snapshot.db_holds}
    ended = (set(snapshot.known_hold_ids) - live_in_database) & holds.keys()
    missing = live_in_database - holds.keys()
    return [
        f"hold {hold_id}: ended in PostgreSQL, live in Redis"
        for hold_id in sorted(ended)
    ] + [
        f"hold {hold_id}: live in PostgreSQL, missing from Redis"
        for hold_id in sorted(missing)
    ]
