"""The Redis side of holds: one atomic Lua script per operation.

Every key of a clinic carries the hash tag ``{clinic:<id>}``, and each script
receives all four of the clinic's keys, so the scripts run unchanged on Redis
Cluster. Redis errors surface as :class:`RedisUnavailable`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.clock import from_millis, to_millis

LUA = Path(__file__).parent / "lua"
REAP_LIMIT = 100
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisUnavailable(Exception):
    """Redis did not answer; the caller switches to the database path."""


@dataclass(frozen=True)
class RedisHold:
    """A live hold as Redis records it."""

    slot_id: str
    vaccine: str
    expires_at: datetime

    @classmethod
    def parse(cls, info: bytes | str) -> RedisHold:
        text = info.decode() if isinstance(info, bytes) else info
        slot_id, vaccine, expires_ms = text.split("|")
        return cls(slot_id, vaccine, from_millis(int(expires_ms)))


@dataclass(frozen=True)
class Counters:
    """Seat and dose counters of one slot and one vaccine."""

    capacity: int
    seats_held: int
    seats_committed: int
    doses: int
    doses_held: int
    doses_committed: int


@dataclass(frozen=True)
class ClinicSnapshot:
    """What PostgreSQL says about one clinic, for a rebuild."""

    slots: dict[str, tuple[int, int]]
    doses: dict[str, tuple[int, int]]
    db_holds: list[tuple[str, str, str, datetime]]
    known_hold_ids: list[str]
    closed_slots: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RedisClinic:
    """One clinic as Redis has it, read in one step for the reconciler.

    ``seats`` and ``doses`` map the hash fields (``<slot>:capacity``,
    ``<vaccine>:committed``, ...) to their counts; ``holds`` maps each hold id
    in the hold info to its hold.
    """

    loaded: bool
    seats: dict[str, int]
    doses: dict[str, int]
    holds: dict[str, RedisHold]


def _optional(value: int | None) -> int | str:
    """A script argument that may be absent, which the scripts read as ''."""
    return "" if value is None else value


@cache
def _script_source(name: str) -> str:
    return (LUA / "reap.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text()


def connect(
    url: str, timeout_seconds: float = 2.0, max_connections: int = 64
) -> aioredis.Redis:
    """A client with a bounded pool that fails fast instead of retrying, so
    failover to PostgreSQL is prompt."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis(connection_pool=pool)


class RedisGate:
    """Runs the hold scripts for a key prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._scripts = {
            name: client.register_script(_script_source(name))
            for name in (
                "hold",
                "availability",
                "lookup",
                "settle_commit",
                "use_dose",
                "extend",
                "release",
                "set_total",
                "rebuild",
                "inspect",
            )
        }

    def keys(self, clinic_id: str) -> list[str]:
        base = f"{self.prefix}:{{clinic:{clinic_id}}}"
        return [f"{base}:seats", f"{base}:doses", f"{base}:holds", f"{base}:hold_info"]

    async def _run(self, script: str, clinic_id: str, *args: object):
        try:
            return await self._scripts[script](keys=self.keys(clinic_id), args=args)
        except _REDIS_DOWN as error:
            raise RedisUnavailable(str(error)) from error

    async def ping(self) -> None:
        """Checks Redis answers on fresh connections: pooled ones may predate
        an outage and be dead."""
        try:
            await self.client.connection_pool.disconnect()
            await self.client.ping()
        except _REDIS_DOWN as error:
            raise RedisUnavailable(str(error)) from error

    async def hold(
        self,
        clinic_id: str,
        hold_id: str,
        slot_id: str,
        vaccine: str,
        now: datetime,
        expires_at: datetime,
    ) -> tuple[str, RedisHold | None]:
        """Takes a seat and a dose; returns the outcome and the hold if held."""
        outcome, *rest = await self._run(
            "hold",
            clinic_id,
            to_millis(now),
            hold_id,
            slot_id,
            vaccine,
            to_millis(expires_at),
            REAP_LIMIT,
        )
        outcome = outcome.decode()
        return outcome, RedisHold.parse(rest[0]) if rest else None

    async def availability(
        self, clinic_id: str, slot_id: str, vaccine: str, now: datetime
    ) -> tuple[str, Counters | None]:
        outcome, *counts = await self._run(
            "availability", clinic_id, to_millis(now), slot_id, vaccine, REAP_LIMIT
        )
        outcome = outcome.decode()
        return outcome, Counters(*counts) if outcome == "OK" else None

    async def lookup(
        self, clinic_id: str, hold_id: str, now: datetime
    ) -> RedisHold | None:
        """The hold if Redis has it live; ``None`` if expired or unknown."""
        info = await self._run("lookup", clinic_id, to_millis(now), hold_id, REAP_LIMIT)
        return RedisHold.parse(info) if info else None

    async def extend(
        self, clinic_id: str, hold_id: str, now: datetime, expires_at: datetime
    ) -> tuple[str, RedisHold | None]:
        """Moves a live hold's expiry to ``expires_at`` if that is later;
        returns the outcome and the hold as it now is."""
        outcome, *rest = await self._run(
            "extend",
            clinic_id,
            to_millis(now),
            hold_id,
            to_millis(expires_at),
            REAP_LIMIT,
        )
        outcome = outcome.decode()
        return outcome, RedisHold.parse(rest[0]) if rest else None

    async def settle_commit(
        self, clinic_id: str, hold_id: str, slot_id: str, vaccine: str
    ) -> None:
        await self._run("settle_commit", clinic_id, hold_id, slot_id, vaccine)

    async def use_dose(self, clinic_id: str, vaccine: str) -> None:
        """One dose of ``vaccine`` fewer in stock and committed: a committed
        hold's dose was given."""
        await self._run("use_dose", clinic_id, vaccine)

    async def release_held(
        self, clinic_id: str, hold_id: str, vaccine: str = "", stock: int | None = None
    ) -> RedisHold | None:
        """Drops a live hold; returns it, or ``None`` if Redis did not have it.
        With ``stock``, also sets ``vaccine``'s stock, in the same step, to
        what a shortfall left of it."""
        info = await self._run(
            "release", clinic_id, hold_id, "", vaccine, _optional(stock)
        )
        return RedisHold.parse(info) if info else None

    async def release_committed(
        self, clinic_id: str, slot_id: str, vaccine: str, stock: int | None = None
    ) -> None:
        """Uncounts a committed seat and dose; with ``stock``, as above."""
        await self._run("release", clinic_id, "", slot_id, vaccine, _optional(stock))

    async def close_slot(self, clinic_id: str, slot_id: str) -> None:
        await self._run("set_total", clinic_id, "closed", slot_id, 1)

    async def set_capacity(self, clinic_id: str, slot_id: str, capacity: int) -> None:
        await self._run("set_total", clinic_id, "seats", slot_id, capacity)

    async def set_doses(self, clinic_id: str, vaccine: str, doses: int) -> None:
        await self._run("set_total", clinic_id, "doses", vaccine, doses)

    async def hold_ids(self, clinic_id: str) -> list[str]:
        try:
            ids = await self.client.hkeys(self.keys(clinic_id)[3])
        except _REDIS_DOWN as error:
            raise RedisUnavailable(str(error)) from error
        return [i.decode() for i in ids]

    async def rebuild(
        self, clinic_id: str, snapshot: ClinicSnapshot, now: datetime
    ) -> None:
        payload = {
            "slots": snapshot.slots,
            "doses": snapshot.doses,
            "db_holds": [
                [hold_id, slot_id, vaccine, to_millis(expires_at)]
                for hold_id, slot_id, vaccine, expires_at in snapshot.db_holds
            ],
            "known": snapshot.known_hold_ids,
            "closed": snapshot.closed_slots,
        }
        await self._run("rebuild", clinic_id, to_millis(now), json.dumps(payload))

    async def inspect(self, clinic_id: str, now: datetime) -> RedisClinic:
        """The clinic's counters and holds, after reaping those run out by
        ``now``."""
        seats, doses, hold_info = await self._run("inspect", clinic_id, to_millis(now))
        seat_counts = _counts(seats)
        loaded = seat_counts.pop("_loaded", None) is not None
        return RedisClinic(
            loaded=loaded,
            seats=seat_counts,
            doses=_counts(doses),
            holds={
                hold_id.decode(): RedisHold.parse(info)
                for hold_id, info in _pairs(hold_info)
            },
        )


def _pairs(flat: list) -> zip:
    """The field and value pairs of a flat HGETALL reply."""
    return zip(flat[::2], flat[1::2], strict=True)


def _counts(flat: list) -> dict[str, int]:
    return {field.decode(): int(value) for field, value in _pairs(flat)}
