"""Holds, extensions, commits and releases: Redis first, PostgreSQL always.

Redis is the fast gate while it answers. When it does not, holds are taken on
PostgreSQL with guarded row updates; a recovery task waits for Redis, rebuilds
it from the database, then switches back. Every commit passes the database
guards, so no path and no switch can oversell. A reconciler repairs the drift
that a crash or a race leaves between Redis and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.names import CLINIC, HOLD, SLOT
from services.inventory.drift import find_drift
from services.inventory.errors import InventoryError
from services.inventory.redis_gate import Counters, RedisGate, RedisUnavailable
from services.inventory.store import (
    COMMITTED,
    DATABASE,
    EXPIRED,
    HELD,
    REDIS,
    RELEASED,
    USED,
    Adjustment,
    HoldRow,
    InventoryStore,
    Refused,
)

log = logging.getLogger(__name__)

REDIS_READY = Gauge("vaxbook_inventory_redis_ready", "1 while holds go to Redis.")
FAILOVERS = Counter(
    "vaxbook_inventory_failovers_total", "Switches of the hold path to PostgreSQL."
)
REBUILDS = Counter(
    "vaxbook_inventory_rebuilds_total", "Clinics rebuilt in Redis from PostgreSQL."
)
REPAIRS = Counter(
    "vaxbook_inventory_reconcile_repairs_total",
    "Clinics the reconciler rebuilt after their Redis side drifted from PostgreSQL.",
)


class Inventory:
    """The hold engine behind the inventory service."""

    def __init__(
        self,
        store: InventoryStore,
        gate: RedisGate,
        clock: Clock,
        *,
        probe_interval_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.gate = gate
        self.clock = clock
        self.probe_interval_seconds = probe_interval_seconds
        self.redis_ready = False
        self._recovery: asyncio.Task | None = None
        self._db_holds_in_flight = 0
        self._db_holds_done = asyncio.Event()
        self._db_holds_done.set()
        # The drift each clinic showed on the reconciler's last pass.
        self._drift: dict[str, frozenset[str]] = {}

    async def start(self) -> None:
        """Loads Redis from PostgreSQL, or starts on the database path."""
        try:
            await self._rebuild_all()
            self._set_ready(True)
        except RedisUnavailable:
            self._lose_redis("Redis unreachable at start-up")

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with suppress(asyncio.CancelledError):
                await self._recovery

    # Totals

    async def set_capacity(
        self, clinic_id: str, slot_id: str, capacity: int, request_id: str = ""
    ) -> None:
        now = self.clock.now()
        try:
            await self.store.set_capacity(clinic_id, slot_id, capacity, now, request_id)
        except Refused:
            raise InventoryError.below_committed("seats", slot_id, capacity) from None
        await self._on_redis(self.gate.set_capacity(clinic_id, slot_id, capacity))

    async def set_doses(
        self, clinic_id: str, vaccine: str, doses: int, request_id: str = ""
    ) -> None:
        now = self.clock.now()
        try:
            await self.store.set_doses(clinic_id, vaccine, doses, now, request_id)
        except Refused:
            raise InventoryError.below_committed(
                "doses", f"{clinic_id}/{vaccine}", doses
            ) from None
        await self._on_redis(self.gate.set_doses(clinic_id, vaccine, doses))

    async def close_slot(self, clinic_id: str, slot_id: str) -> None:
        """Stops new holds on a slot, in PostgreSQL first so that no path
        and no rebuild opens it again."""
        if not await self.store.close_slot(clinic_id, slot_id):
            raise NotFound("slot", SLOT.format(clinic=clinic_id, slot=slot_id))
        await self._on_redis(self.gate.close_slot(clinic_id, slot_id))

    async def adjust_doses(
        self,
        clinic_id: str,
        vaccine: str,
        delta: int,
        reason: str,
        request_id: str,
        actor: str = "",
    ) -> Adjustment:
        """Records an adjustment of a stock and applies it; see
        ``InventoryStore.adjust_doses``."""
        try:
            adjustment = await self.store.adjust_doses(
                clinic_id, vaccine, delta, reason, self.clock.now(), request_id, actor
            )
        except Refused:
            raise InventoryError.stock_negative(
                CLINIC.format(clinic=clinic_id), vaccine, delta
            ) from None
        await self.follow_stock(adjustment)
        return adjustment

    async def follow_stock(self, adjustment: Adjustment) -> None:
        """Sets the Redis stock to what an adjustment recorded in PostgreSQL
        left of it."""
        await self._on_redis(
            self.gate.set_doses(
                adjustment.clinic_id, adjustment.vaccine, adjustment.stock
            )
        )

    async def follow_dose_use(self, clinic_id: str, vaccine: str) -> None:
        """Takes from the Redis counters a dose PostgreSQL recorded as given:
        one dose fewer in stock and one fewer committed."""
        await self._on_redis(self.gate.use_dose(clinic_id, vaccine))

    async def availability(
        self, clinic_id: str, slot_id: str, vaccine: str
    ) -> Counters:
        now = self.clock.now()
        if self.redis_ready:
            try:
                outcome, counters = await self._redis_availability(
                    clinic_id, slot_id, vaccine, now
                )
                if outcome == "NO_SLOT":
                    raise NotFound("slot", SLOT.format(clinic=clinic_id, slot=slot_id))
                return counters
            except RedisUnavailable:
                self._lose_redis("availability read failed")
        counters = await self.store.counters(clinic_id, slot_id, vaccine, now)
        if counters is None:
            raise NotFound("slot", SLOT.format(clinic=clinic_id, slot=slot_id))
        return counters

    async def _redis_availability(self, clinic_id, slot_id, vaccine, now):
        outcome, counters = await self.gate.availability(
            clinic_id, slot_id, vaccine, now
        )
        if outcome == "NOT_LOADED":
            await self._rebuild_clinic(clinic_id)
            outcome, counters = await self.gate.availability(
                clinic_id, slot_id, vaccine, now
            )
        return outcome, counters

    # Holds

    async def create_hold(
        self,
        clinic_id: str,
        slot_id: str,
        vaccine: str,
        hold_id: str,
        ttl_seconds: int,
    ) -> HoldRow:
        """Claims one seat and one dose, atomically, for ``ttl_seconds``."""
        now = self.clock.now()
        expires_at = now + timedelta(seconds=ttl_seconds)
        if self.redis_ready:
            try:
                return await self._hold_on_redis(
                    clinic_id, slot_id, vaccine, hold_id, now, expires_at
                )
            except RedisUnavailable:
                self._lose_redis("hold script failed")
        row = HoldRow(hold_id, clinic_id, slot_id, vaccine, HELD, DATABASE, expires_at)
        async with self._db_hold_in_flight():
            try:
                row = await self.store.create_hold(row, now)
            except Refused as refusal:
                raise self._refusal(refusal, clinic_id, slot_id, vaccine) from None
        return row

    async def _hold_on_redis(
        self, clinic_id, slot_id, vaccine, hold_id, now, expires_at
    ) -> HoldRow:
        args = (clinic_id, hold_id, slot_id, vaccine, now, expires_at)
        outcome, held = await self.gate.hold(*args)
        if outcome == "NOT_LOADED":
            await self._rebuild_clinic(clinic_id)
            outcome, held = await self.gate.hold(*args)
        if outcome == "HELD":
            return HoldRow(
                hold_id,
                clinic_id,
                held.slot_id,
                held.vaccine,
                HELD,
                REDIS,
                held.expires_at,
            )
        if outcome == "NO_SLOT":
            raise NotFound("slot", SLOT.format(clinic=clinic_id, slot=slot_id))
        raise self._refusal(Refused(outcome), clinic_id, slot_id, vaccine)

    async def commit_hold(
        self,
        clinic_id: str,
        hold_id: str,
        slot_id: str,
        vaccine: str,
        expires_at: datetime,
    ) -> HoldRow:
        """Commits a hold behind the PostgreSQL guards; idempotent by hold id.

        The caller's ``slot_id``, ``vaccine`` and ``expires_at`` (as returned
        when the hold was created) let the commit go ahead when Redis is down
        or lost the hold; a hold Redis reaped has always run out by then.
        """
        now = self.clock.now()
        row = HoldRow(
            hold_id, clinic_id, slot_id, vaccine, COMMITTED, REDIS, expires_at
        )
        known = await self.store.get_hold(hold_id)
        if known is None:
            live = await self._redis_lookup(clinic_id, hold_id, now)
            if live is not None:
                row = HoldRow(
                    hold_id,
                    clinic_id,
                    live.slot_id,
                    live.vaccine,
                    COMMITTED,
                    REDIS,
                    live.expires_at,
                )
            elif expires_at <= now:
                raise InventoryError.hold_expired(
                    HOLD.format(clinic=clinic_id, hold=hold_id)
                )
        try:
            committed = await self.store.commit_hold(row, now)
        except Refused as refusal:
            await self._on_redis(self.gate.release_held(clinic_id, hold_id))
            raise self._refusal(refusal, clinic_id, slot_id, vaccine) from None
        if committed.state in (RELEASED, EXPIRED):
            raise InventoryError.hold_expired(
                HOLD.format(clinic=clinic_id, hold=hold_id)
            )
        if known is None or known.state == HELD:
            await self._on_redis(
                self.gate.settle_commit(
                    clinic_id, hold_id, committed.slot_id, committed.vaccine
                )
            )
        return committed

    async def _redis_lookup(self, clinic_id, hold_id, now):
        if not self.redis_ready:
            return None
        try:
            return await self.gate.lookup(clinic_id, hold_id, now)
        except RedisUnavailable:
            self._lose_redis("hold lookup failed")
            return None

    async def extend_hold(
        self, clinic_id: str, hold_id: str, expires_at: datetime
    ) -> HoldRow:
        """Moves a live hold's expiry to ``expires_at``; never earlier.

        PostgreSQL answers for the holds it knows: it refuses ended ones, and
        extends database-path holds, whose copy in Redis follows. Any other
        hold lives only in Redis; while Redis does not answer, its expiry is
        unknown, so the extension is refused as unavailable, not guessed.
        """
        now = self.clock.now()
        hold = HOLD.format(clinic=clinic_id, hold=hold_id)
        if await self.store.get_hold(hold_id) is not None:
            extended = await self.store.extend_hold(hold_id, expires_at, now)
            if extended is None:
                raise InventoryError.hold_expired(hold)
            await self._on_redis(
                self.gate.extend(clinic_id, hold_id, now, extended.expires_at)
            )
            return extended
        if self.redis_ready:
            try:
                return await self._extend_on_redis(clinic_id, hold_id, now, expires_at)
            except RedisUnavailable:
                self._lose_redis("extend script failed")
        raise InventoryError.hold_store_unavailable(hold)

    async def _extend_on_redis(self, clinic_id, hold_id, now, expires_at) -> HoldRow:
        args = (clinic_id, hold_id, now, expires_at)
        outcome, held = await self.gate.extend(*args)
        if outcome == "NOT_LOADED":
            await self._rebuild_clinic(clinic_id)
            outcome, held = await self.gate.extend(*args)
        if outcome != "HELD":
            raise InventoryError.hold_expired(
                HOLD.format(clinic=clinic_id, hold=hold_id)
            )
        return HoldRow(
            hold_id, clinic_id, held.slot_id, held.vaccine, HELD, REDIS, held.expires_at
        )

    async def release_hold(self, clinic_id: str, hold_id: str) -> str:
        """Gives a hold's seat and dose back; returns the hold's final state.
        A used hold gives nothing back and stays used."""
        now = self.clock.now()
        before, stock = await self.store.release_hold(hold_id, now)
        if before is not None:
            if before.state == COMMITTED:
                await self._on_redis(
                    self.gate.release_committed(
                        clinic_id, before.slot_id, before.vaccine, stock
                    )
                )
            elif before.state == HELD:
                await self._on_redis(
                    self.gate.release_held(clinic_id, hold_id, before.vaccine, stock)
                )
            # A used hold's dose was given: nothing comes back.
            return before.state if before.state in (EXPIRED, USED) else RELEASED
        # A Redis hold: drop it there, and record the release in PostgreSQL so
        # that neither a late commit nor a rebuild can bring it back.
        await self._on_redis(self.gate.release_held(clinic_id, hold_id))
        await self.store.record_redis_release(clinic_id, hold_id, now)
        return RELEASED

    async def reap_expired_db_holds(self) -> int:
        """The cleanup job: ends run-out database-path holds."""
        return await self.store.reap_expired(self.clock.now())

    # Reconciler

    async def reconcile(self) -> int:
        """One pass of the hold reconciler; returns how many clinics it repaired.

        Each clinic's PostgreSQL snapshot is compared with its Redis side, read
        in one script after the snapshot (see ``drift.find_drift``). Commits
        write PostgreSQL first and Redis second, so a pass can catch one half
        done: a clinic is repaired only when the next pass finds the very same
        drift, counts included, so one whose numbers moved meanwhile waits for
        a pass that confirms them. The repair is the rebuild from
        PostgreSQL; ``vaxbook_inventory_reconcile_repairs_total`` counts one per
        repaired clinic, however many of its counters drifted.

        Replicas need no coordination: a rebuild is one atomic script writing
        what PostgreSQL says, so two replicas repairing one clinic together
        leave what either would alone. While Redis is lost a pass does nothing,
        since the recovery rebuilds every clinic anyway.
        """
        previous, self._drift = self._drift, {}
        if not self.redis_ready:
            return 0
        repaired = 0
        try:
            for clinic_id in await self.store.clinic_ids():
                drift = await self.drift_of(clinic_id)
                if drift and drift == previous.get(clinic_id):
                    await self._repair(clinic_id, drift)
                    repaired += 1
                elif drift:
                    self._drift[clinic_id] = drift
        except RedisUnavailable:
            self._lose_redis("reconcile pass failed")
            self._drift = {}
        return repaired

    async def drift_of(self, clinic_id: str) -> frozenset[str]:
        """How the clinic's Redis side differs from PostgreSQL now."""
        now = self.clock.now()
        redis_ids = await self.gate.hold_ids(clinic_id)
        snapshot = await self.store.snapshot(clinic_id, redis_ids, now)
        return find_drift(snapshot, await self.gate.inspect(clinic_id, now))

    async def _repair(self, clinic_id: str, drift: frozenset[str]) -> None:
        await self._rebuild_clinic(clinic_id)
        REPAIRS.inc()
        log.warning(
            "Redis drifted from PostgreSQL; clinic rebuilt",
            extra={
                "fields": {
                    "clinic": CLINIC.format(clinic=clinic_id),
                    "drift": sorted(drift),
                }
            },
        )

    # Redis health

    async def _on_redis(self, operation):
        """Runs a Redis follow-up; when Redis is down, PostgreSQL already has
        the truth and the rebuild will apply it."""
        if not self.redis_ready:
            operation.close()
            return _UNREACHABLE
        try:
            return await operation
        except RedisUnavailable:
            self._lose_redis("follow-up failed")
            return _UNREACHABLE

    def _refusal(self, refusal: Refused, clinic_id, slot_id, vaccine):
        slot = SLOT.format(clinic=clinic_id, slot=slot_id)
        if refusal.reason == "NO_SLOT":
            return NotFound("slot", slot)
        if refusal.reason == "SLOT_FULL":
            return InventoryError.slot_full(slot)
        if refusal.reason == "SLOT_CLOSED":
            return InventoryError.slot_closed(slot)
        return InventoryError.out_of_doses(CLINIC.format(clinic=clinic_id), vaccine)

    def _set_ready(self, ready: bool) -> None:
        self.redis_ready = ready
        REDIS_READY.set(1 if ready else 0)

    def _lose_redis(self, why: str) -> None:
        if self.redis_ready:
            FAILOVERS.inc()
            log.warning("Redis unavailable, holds go to PostgreSQL: %s", why)
        self._set_ready(False)
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval_seconds)
            try:
                await self.gate.ping()
                await self._rebuild_all()
                self._set_ready(True)
                await self._catch_up()
            except RedisUnavailable:
                self._set_ready(False)
                continue
            log.warning("Redis rebuilt from PostgreSQL; holds go to Redis again")
            return

    async def _catch_up(self) -> None:
        """Adds to Redis the database holds taken while the rebuild ran."""
        await self._db_holds_done.wait()
        await self._rebuild_all()

    async def _rebuild_all(self) -> None:
        for clinic_id in await self.store.clinic_ids():
            await self._rebuild_clinic(clinic_id)

    async def _rebuild_clinic(self, clinic_id: str) -> None:
        now = self.clock.now()
        redis_ids = await self.gate.hold_ids(clinic_id)
        snapshot = await self.store.snapshot(clinic_id, redis_ids, now)
        await self.gate.rebuild(clinic_id, snapshot, now)
        REBUILDS.inc()

    @asynccontextmanager
    async def _db_hold_in_flight(self):
        self._db_holds_in_flight += 1
        self._db_holds_done.clear()
        try:
            yield
        finally:
            self._db_holds_in_flight -= 1
            if self._db_holds_in_flight == 0:
                self._db_holds_done.set()


_UNREACHABLE = object()
