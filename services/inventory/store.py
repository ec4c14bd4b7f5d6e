"""The PostgreSQL side of inventory: the record and the final guard.

Every change is one transaction of guarded updates; the table check
constraints refuse any state with more seats or doses claimed than exist.
A change of a total writes its event to the inventory outbox in the same
transaction; holds write none (see ``services.inventory.events``).
"""

from __future__ import annotations

from collections import Counter as Tally
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.db import autocommit
from services.common.outbox import write_events
from services.inventory.events import InventoryEvents
from services.inventory.redis_gate import ClinicSnapshot, Counters
from services.inventory.tables import (
    dose_adjustments,
    dose_stock,
    holds,
    outbox,
    slot_seats,
)

HELD, COMMITTED, RELEASED, EXPIRED = "HELD", "COMMITTED", "RELEASED", "EXPIRED"
# A committed hold whose dose was given: its seat stays taken, its dose is gone.
USED = "USED"
# What ``inventory.commit_new_hold`` raises when a guard refuses.
_COMMIT_REFUSALS = {"SLOT_FULL", "NO_SLOT", "OUT_OF_DOSES"}
REDIS, DATABASE = "REDIS", "DATABASE"


class Refused(Exception):
    """A guarded update found no room; ``reason`` says which guard."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Adjustment:
    """A recorded change of a stock: ``new_doses`` is what the clinic has;
    ``stock`` is what the counters keep while committed doses exceed it."""

    clinic_id: str
    vaccine: str
    delta: int
    reason: str
    old_doses: int
    new_doses: int
    shortfall: int
    stock: int
    request_id: str = ""


@dataclass(frozen=True)
class HoldRow:
    hold_id: str
    clinic_id: str
    slot_id: str
    vaccine: str
    state: str
    store: str
    expires_at: datetime


class InventoryStore:
    """Counters and hold rows in the ``inventory`` schema."""

    def __init__(self, engine: AsyncEngine, events: InventoryEvents) -> None:
        self.engine = engine
        self.events = events
        # Single statements: one round trip, no BEGIN.
        self.single = autocommit(engine)

    # Totals

    async def set_capacity(
        self,
        clinic_id: str,
        slot_id: str,
        capacity: int,
        now: datetime,
        request_id: str = "",
    ) -> None:
        """Sets a slot's capacity, writing its event when it changes; raises
        ``Refused`` below what is claimed."""
        row = {"slot_id": slot_id, "clinic_id": clinic_id, "capacity": capacity}
        async with self._guarded("BELOW_COMMITTED") as conn:
            capacity_before = await _set_total(conn, slot_seats, row, "capacity")
            if capacity_before != capacity:
                event = self.events.capacity_changed(
                    clinic_id, slot_id, capacity_before, capacity, now, request_id
                )
                await write_events(conn, outbox, [event], now)

    async def set_doses(
        self,
        clinic_id: str,
        vaccine: str,
        doses: int,
        now: datetime,
        request_id: str = "",
    ) -> None:
        """Sets a clinic's stock of a vaccine, writing its event when it
        changes; raises ``Refused`` below what is claimed."""
        row = {"clinic_id": clinic_id, "vaccine": vaccine, "doses": doses}
        async with self._guarded("BELOW_COMMITTED") as conn:
            doses_before = await _set_total(conn, dose_stock, row, "doses")
            # A stock set outright owes nothing to an earlier shortfall.
            await conn.execute(
                update(dose_stock)
                .where(
                    dose_stock.c.clinic_id == clinic_id,
                    dose_stock.c.vaccine == vaccine,
                    dose_stock.c.doses_short > 0,
                )
                .values(doses_short=0)
            )
            if doses_before != doses:
                event = self.events.doses_changed(
                    clinic_id, vaccine, doses_before, doses, now, request_id
                )
                await write_events(conn, outbox, [event], now)

    async def close_slot(self, clinic_id: str, slot_id: str) -> bool:
        """Stops new holds on a slot; ``False`` when the slot is unknown."""
        async with self.single.connect() as conn:
            closed = await conn.scalar(
                update(slot_seats)
                .where(
                    slot_seats.c.slot_id == slot_id,
                    slot_seats.c.clinic_id == clinic_id,
                )
                .values(closed=True)
                .returning(literal(1))
            )
        return closed is not None

    async def adjust_doses(
        self,
        clinic_id: str,
        vaccine: str,
        delta: int,
        reason: str,
        now: datetime,
        request_id: str,
        actor: str = "",
    ) -> Adjustment:
        """Adds ``delta`` doses (fewer when negative) with its reason, once
        per ``request_id``; raises ``Refused("STOCK_NEGATIVE")`` when the
        stock would fall below zero.

        The counters cannot hold fewer doses than are claimed, so a stock cut
        below its claims keeps the claimed doses as ``doses_short``: each
        release of a claim then takes a dose away instead of freeing it.
        """
        async with self.engine.begin() as conn:
            return await self.adjust_in(
                conn, clinic_id, vaccine, delta, reason, now, request_id, actor
            )

    async def adjust_in(
        self,
        conn: AsyncConnection,
        clinic_id: str,
        vaccine: str,
        delta: int,
        reason: str,
        now: datetime,
        request_id: str,
        actor: str = "",
    ) -> Adjustment:
        """``adjust_doses`` inside the caller's transaction, which other
        changes of the stock (a batch received or expired) share."""
        done = await recorded_adjustment(conn, request_id)
        if done is not None:
            return done
        doses, short, committed, held = await _locked_stock(conn, clinic_id, vaccine)
        old_doses = doses - short
        new_doses = old_doses + delta
        if new_doses < 0:
            raise Refused("STOCK_NEGATIVE")
        adjustment = Adjustment(
            clinic_id,
            vaccine,
            delta,
            reason,
            old_doses,
            new_doses,
            shortfall=max(0, committed - new_doses),
            stock=max(new_doses, committed + held),
            request_id=request_id,
        )
        await _record_adjustment(conn, adjustment, now)
        event = self.events.doses_adjusted(adjustment, actor, now, request_id)
        await write_events(conn, outbox, [event], now)
        return adjustment

    @asynccontextmanager
    async def _guarded(self, reason: str):
        """A transaction in which a broken check constraint is ``Refused``."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise Refused(reason) from None

    async def counters(
        self, clinic_id: str, slot_id: str, vaccine: str, now: datetime
    ) -> Counters | None:
        """Counters as PostgreSQL has them, after reaping expired holds."""
        async with self.engine.begin() as conn:
            await _reap(conn, clinic_id, now)
            seats = (
                await conn.execute(
                    select(
                        slot_seats.c.capacity,
                        slot_seats.c.seats_held,
                        slot_seats.c.seats_committed,
                    ).where(slot_seats.c.slot_id == slot_id)
                )
            ).first()
            if seats is None:
                return None
            doses = (
                await conn.execute(
                    select(
                        dose_stock.c.doses,
                        dose_stock.c.doses_held,
                        dose_stock.c.doses_committed,
                    ).where(
                        dose_stock.c.clinic_id == clinic_id,
                        dose_stock.c.vaccine == vaccine,
                    )
                )
            ).first()
        return Counters(*seats, *(doses or (0, 0, 0)))

    # Holds

    async def get_hold(self, hold_id: str) -> HoldRow | None:
        async with self.single.connect() as conn:
            row = (
                await conn.execute(select(holds).where(holds.c.hold_id == hold_id))
            ).first()
        return _hold_row(row)

    async def create_hold(
        self,
        hold: HoldRow,
        now: datetime,
    ) -> HoldRow:
        """Takes a seat and a dose on the database path, or raises ``Refused``."""
        async with self.engine.begin() as conn:
            await _reap(conn, hold.clinic_id, now)
            inserted = await conn.scalar(
                insert(holds)
                .values(**_hold_values(hold), updated_at=now)
                .on_conflict_do_nothing()
                .returning(holds.c.hold_id)
            )
            if inserted is None:
                existing = await locked_hold(conn, hold.hold_id)
                return existing
            await _claim(conn, hold, "held")
        return hold

    async def commit_hold(self, hold: HoldRow, now: datetime) -> HoldRow:
        """Commits a hold in PostgreSQL, whichever store took it.

        A database-path hold moves from held to committed. A Redis hold is
        recorded here for the first time, behind the capacity guards.
        Idempotent: committing a committed hold returns it.
        """
        if await self._commit_new(hold, now):
            return _replace(hold, state=COMMITTED)
        async with self.engine.begin() as conn:
            inserted = await conn.scalar(
                insert(holds)
                .values(**_hold_values(_replace(hold, state=COMMITTED)), updated_at=now)
                .on_conflict_do_nothing()
                .returning(holds.c.hold_id)
            )
            if inserted is not None:
                await _claim(conn, hold, "committed")
                return _replace(hold, state=COMMITTED)
            existing = await locked_hold(conn, hold.hold_id)
            if existing.state != HELD:
                return existing
            if existing.expires_at <= now:
                await _end_db_hold(conn, existing, EXPIRED, now)
                return _replace(existing, state=EXPIRED)
            await conn.execute(
                update(holds)
                .where(holds.c.hold_id == hold.hold_id)
                .values(state=COMMITTED, updated_at=now)
            )
            await _move(conn, existing, held=-1, committed=1)
        return _replace(existing, state=COMMITTED)

    async def _commit_new(self, hold: HoldRow, now: datetime) -> bool:
        """Records a hold PostgreSQL has not seen as committed, with both
        guards, in one statement; ``False`` when PostgreSQL knows the hold
        already. Raises ``Refused`` when a guard refuses."""
        try:
            async with self.single.connect() as conn:
                outcome = await conn.scalar(
                    select(
                        func.inventory.commit_new_hold(
                            hold.hold_id,
                            hold.clinic_id,
                            hold.slot_id,
                            hold.vaccine,
                            hold.store,
                            hold.expires_at,
                            now,
                        )
                    )
                )
        except DBAPIError as error:
            reason = getattr(getattr(error.orig, "diag", None), "message_primary", "")
            if reason in _COMMIT_REFUSALS:
                raise Refused(reason) from None
            raise
        return outcome == COMMITTED

    async def extend_hold(
        self, hold_id: str, expires_at: datetime, now: datetime
    ) -> HoldRow | None:
        """Moves a live database hold's expiry to ``expires_at`` if that is
        later; returns the hold as it now is, or ``None`` when it is no longer
        held or has run out."""
        live = and_(
            holds.c.hold_id == hold_id,
            holds.c.state == HELD,
            holds.c.expires_at > now,
        )
        async with self.engine.begin() as conn:
            extended = (
                await conn.execute(
                    update(holds)
                    .where(live, holds.c.expires_at < expires_at)
                    .values(expires_at=expires_at, updated_at=now)
                    .returning(*holds.c)
                )
            ).first()
            if extended is not None:
                return _hold_row(extended)
            unchanged = (await conn.execute(select(holds).where(live))).first()
        return _hold_row(unchanged)

    async def release_hold(
        self, hold_id: str, now: datetime
    ) -> tuple[HoldRow | None, int | None]:
        """Releases a committed or database-held hold.

        Returns the row as it was before, or ``None`` when PostgreSQL has never
        seen the hold (a live Redis hold), and the vaccine's new stock when a
        shortfall took the released dose, else ``None``. Idempotent. A used
        hold stays as it is: its dose was given and cannot come back.
        """
        async with self.engine.begin() as conn:
            existing = await locked_hold(conn, hold_id)
            if existing is None or existing.state in (RELEASED, EXPIRED, USED):
                return existing, None
            if existing.state == COMMITTED:
                await conn.execute(
                    update(holds)
                    .where(holds.c.hold_id == hold_id)
                    .values(state=RELEASED, updated_at=now)
                )
                stock = await _move(conn, existing, committed=-1)
            else:
                stock = await _end_db_hold(conn, existing, RELEASED, now)
        return existing, stock

    async def record_redis_release(
        self, clinic_id: str, hold_id: str, now: datetime
    ) -> None:
        """Records the release of a Redis hold, so that a late commit is
        refused and a rebuild drops the hold if Redis still has it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(holds)
                .values(
                    hold_id=hold_id,
                    clinic_id=clinic_id,
                    slot_id="",
                    vaccine="",
                    state=RELEASED,
                    store=REDIS,
                    expires_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            )

    async def reap_expired(self, now: datetime) -> int:
        """Ends every database-path hold that has run out; returns how many."""
        async with self.engine.begin() as conn:
            return await _reap(conn, None, now)

    # Rebuild

    async def clinic_ids(self) -> list[str]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(slot_seats.c.clinic_id).union(select(dose_stock.c.clinic_id))
            )
            return [row[0] for row in result]

    async def snapshot(
        self, clinic_id: str, redis_hold_ids: list[str], now: datetime
    ) -> ClinicSnapshot:
        """The clinic's totals, its live database holds, and which of the
        given Redis hold ids PostgreSQL already knows (committed, released or
        used).

        A used hold is counted where its dose went: its seat among the
        committed seats, its dose in neither the stock nor the committed
        doses, since both lost it when it was given.
        """
        async with self.engine.begin() as conn:
            await _reap(conn, clinic_id, now)
            seats = (
                await conn.execute(
                    select(
                        slot_seats.c.slot_id,
                        slot_seats.c.capacity,
                        slot_seats.c.seats_committed,
                        slot_seats.c.closed,
                    ).where(slot_seats.c.clinic_id == clinic_id)
                )
            ).all()
            doses = await conn.execute(
                select(
                    dose_stock.c.vaccine,
                    dose_stock.c.doses,
                    dose_stock.c.doses_committed,
                ).where(dose_stock.c.clinic_id == clinic_id)
            )
            live = await conn.execute(
                select(
                    holds.c.hold_id,
                    holds.c.slot_id,
                    holds.c.vaccine,
                    holds.c.expires_at,
                ).where(
                    holds.c.clinic_id == clinic_id,
                    holds.c.state == HELD,
                    holds.c.expires_at > now,
                )
            )
            known = await conn.execute(
                select(holds.c.hold_id).where(holds.c.hold_id.in_(redis_hold_ids))
            )
            return ClinicSnapshot(
                slots={row[0]: (row[1], row[2]) for row in seats},
                closed_slots=[row[0] for row in seats if row[3]],
                doses={row[0]: (row[1], row[2]) for row in doses},
                db_holds=[tuple(row) for row in live],
                known_hold_ids=[row[0] for row in known],
            )


async def _set_total(
    conn: AsyncConnection, table: Table, row: dict, column: str
) -> int:
    """Writes ``row``, found by ``table``'s primary key, changing only its
    ``column`` when it exists; returns that column's value before, 0 for a
    new row.

    The row is locked before it is read, so concurrent changes of one total
    each see the value the one before left.
    """
    inserted = await conn.scalar(
        insert(table).values(**row).on_conflict_do_nothing().returning(literal(1))
    )
    if inserted is not None:
        return 0
    this_row = and_(*(key == row[key.name] for key in table.primary_key))
    before = await conn.scalar(
        select(table.c[column]).where(this_row).with_for_update()
    )
    if before != row[column]:
        await conn.execute(update(table).where(this_row).values({column: row[column]}))
    return before


def _hold_values(hold: HoldRow) -> dict:
    return {
        "hold_id": hold.hold_id,
        "clinic_id": hold.clinic_id,
        "slot_id": hold.slot_id,
        "vaccine": hold.vaccine,
        "state": hold.state,
        "store": hold.store,
        "expires_at": hold.expires_at,
    }


def _hold_row(row) -> HoldRow | None:
    if row is None:
        return None
    return HoldRow(
        row.hold_id,
        row.clinic_id,
        row.slot_id,
        row.vaccine,
        row.state,
        row.store,
        row.expires_at,
    )


def _replace(hold: HoldRow, **changes) -> HoldRow:
    return HoldRow(**{**hold.__dict__, **changes})


async def locked_hold(conn: AsyncConnection, hold_id: str) -> HoldRow | None:
    row = (
        await conn.execute(
            select(holds).where(holds.c.hold_id == hold_id).with_for_update()
        )
    ).first()
    return _hold_row(row)


async def _claim(conn: AsyncConnection, hold: HoldRow, column: str) -> None:
    """Adds one held or committed seat and dose, behind the capacity guards."""
    seat_column = slot_seats.c[f"seats_{column}"]
    room = [
        slot_seats.c.slot_id == hold.slot_id,
        slot_seats.c.seats_committed + slot_seats.c.seats_held < slot_seats.c.capacity,
    ]
    if column == "held":
        # A commit may still land on a closed slot: its hold came first.
        room.append(slot_seats.c.closed.is_(False))
    seat = await conn.scalar(
        update(slot_seats)
        .where(*room)
        .values({seat_column: seat_column + 1})
        .returning(literal(1))
    )
    if seat is None:
        closed = await conn.scalar(
            select(slot_seats.c.closed).where(slot_seats.c.slot_id == hold.slot_id)
        )
        if closed is None:
            raise Refused("NO_SLOT")
        raise Refused("SLOT_CLOSED" if closed else "SLOT_FULL")
    dose_column = dose_stock.c[f"doses_{column}"]
    dose = await conn.scalar(
        update(dose_stock)
        .where(
            dose_stock.c.clinic_id == hold.clinic_id,
            dose_stock.c.vaccine == hold.vaccine,
            dose_stock.c.doses_committed + dose_stock.c.doses_held < dose_stock.c.doses,
        )
        .values({dose_column: dose_column + 1})
        .returning(literal(1))
    )
    if dose is None:
        raise Refused("OUT_OF_DOSES")


async def _move(
    conn: AsyncConnection, hold: HoldRow, *, held: int = 0, committed: int = 0
) -> int | None:
    """Shifts one seat and one dose between held, committed and free; a
    freed dose owed to a shortfall leaves the stock instead. Returns the new
    stock when it did, else ``None``."""
    await conn.execute(
        update(slot_seats)
        .where(slot_seats.c.slot_id == hold.slot_id)
        .values(
            seats_held=slot_seats.c.seats_held + held,
            seats_committed=slot_seats.c.seats_committed + committed,
        )
    )
    await conn.execute(
        update(dose_stock)
        .where(
            dose_stock.c.clinic_id == hold.clinic_id,
            dose_stock.c.vaccine == hold.vaccine,
        )
        .values(
            doses_held=dose_stock.c.doses_held + held,
            doses_committed=dose_stock.c.doses_committed + committed,
        )
    )
    if held + committed >= 0:
        return None
    return await conn.scalar(
        update(dose_stock)
        .where(
            dose_stock.c.clinic_id == hold.clinic_id,
            dose_stock.c.vaccine == hold.vaccine,
            dose_stock.c.doses_short > 0,
        )
        .values(doses=dose_stock.c.doses - 1, doses_short=dose_stock.c.doses_short - 1)
        .returning(dose_stock.c.doses)
    )


async def _end_db_hold(
    conn: AsyncConnection, hold: HoldRow, state: str, now: datetime
) -> int | None:
    await conn.execute(
        update(holds)
        .where(holds.c.hold_id == hold.hold_id)
        .values(state=state, updated_at=now)
    )
    return await _move(conn, hold, held=-1)


async def _record_adjustment(
    conn: AsyncConnection, adjustment: Adjustment, now: datetime
) -> None:
    """Writes the adjusted stock, keeping what exceeds the new doses as
    ``doses_short``, and records the adjustment under its request id."""
    short = adjustment.stock - adjustment.new_doses
    await conn.execute(
        insert(dose_stock)
        .values(
            clinic_id=adjustment.clinic_id,
            vaccine=adjustment.vaccine,
            doses=adjustment.stock,
            doses_short=short,
        )
        .on_conflict_do_update(
            index_elements=[dose_stock.c.clinic_id, dose_stock.c.vaccine],
            set_={"doses": adjustment.stock, "doses_short": short},
        )
    )
    await conn.execute(
        insert(dose_adjustments).values(
            request_id=adjustment.request_id,
            clinic_id=adjustment.clinic_id,
            vaccine=adjustment.vaccine,
            delta=adjustment.delta,
            reason=adjustment.reason,
            old_doses=adjustment.old_doses,
            new_doses=adjustment.new_doses,
            shortfall=adjustment.shortfall,
            create_time=now,
        )
    )


async def _locked_stock(
    conn: AsyncConnection, clinic_id: str, vaccine: str
) -> tuple[int, int, int, int]:
    """The stock's doses, doses short, committed and held, locked for the
    transaction; zeros when the clinic has none of the vaccine yet."""
    row = (
        await conn.execute(
            select(
                dose_stock.c.doses,
                dose_stock.c.doses_short,
                dose_stock.c.doses_committed,
                dose_stock.c.doses_held,
            )
            .where(dose_stock.c.clinic_id == clinic_id, dose_stock.c.vaccine == vaccine)
            .with_for_update()
        )
    ).first()
    return tuple(row) if row else (0, 0, 0, 0)


async def doses_in_stock(conn: AsyncConnection, clinic_id: str, vaccine: str) -> int:
    """The doses a clinic has of a vaccine, not counting those kept only for
    claims a shortfall left; the stock row is locked for the transaction."""
    doses, short, _, _ = await _locked_stock(conn, clinic_id, vaccine)
    return doses - short


async def recorded_adjustment(
    conn: AsyncConnection, request_id: str
) -> Adjustment | None:
    """The adjustment recorded under ``request_id``, if any."""
    done = (
        await conn.execute(
            select(dose_adjustments).where(dose_adjustments.c.request_id == request_id)
        )
    ).first()
    return None if done is None else await _recorded(conn, done)


async def _recorded(conn: AsyncConnection, done) -> Adjustment:
    stock = await conn.scalar(
        select(dose_stock.c.doses).where(
            dose_stock.c.clinic_id == done.clinic_id,
            dose_stock.c.vaccine == done.vaccine,
        )
    )
    return Adjustment(
        done.clinic_id,
        done.vaccine,
        done.delta,
        done.reason,
        done.old_doses,
        done.new_doses,
        done.shortfall,
        stock,
        done.request_id,
    )


async def _reap(conn: AsyncConnection, clinic_id: str | None, now: datetime) -> int:
    """Expires run-out database-path holds and gives their seats and doses back."""
    condition = and_(holds.c.state == HELD, holds.c.expires_at <= now)
    if clinic_id is not None:
        condition = and_(condition, holds.c.clinic_id == clinic_id)
    expired = (
        await conn.execute(
            update(holds)
            .where(condition)
            .values(state=EXPIRED, updated_at=now)
            .returning(holds.c.clinic_id, holds.c.slot_id, holds.c.vaccine)
        )
    ).all()
    for slot_id, n in Tally(row.slot_id for row in expired).items():
        await conn.execute(
            update(slot_seats)
            .where(slot_seats.c.slot_id == slot_id)
            .values(seats_held=slot_seats.c.seats_held - n)
        )
    for (clinic, vaccine), n in Tally(
        (row.clinic_id, row.vaccine) for row in expired
    ).items():
        # Expired claims owed to a shortfall leave the stock.
        taken = func.least(dose_stock.c.doses_short, n)
        await conn.execute(
            update(dose_stock)
            .where(dose_stock.c.clinic_id == clinic, dose_stock.c.vaccine == vaccine)
            .values(
                doses_held=dose_stock.c.doses_held - n,
                doses=dose_stock.c.doses - taken,
                doses_short=dose_stock.c.doses_short - taken,
            )
        )
    return len(expired)
