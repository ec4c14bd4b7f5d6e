"""The PostgreSQL side of batches: what each clinic received, and every dose
given from it.

A batch's doses join and leave the stock through the recorded adjustment
``AdjustDoseStock`` uses (``InventoryStore.adjust_in``), in the transaction
that changes the batch, so the stock stays what the batches brought less what
left. A dose given takes one dose from its batch, turns the appointment's
committed hold USED and takes the dose and its committed claim out of the
stock, all in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.outbox import write_events
from services.inventory.store import (
    USED,
    Adjustment,
    HoldRow,
    InventoryStore,
    Refused,
    doses_in_stock,
    locked_hold,
    recorded_adjustment,
)
from services.inventory.tables import batches, dose_stock, dose_uses, holds, outbox

ACTIVE, EXPIRED, USED_UP = "ACTIVE", "EXPIRED", "USED_UP"


@dataclass(frozen=True)
class BatchRow:
    """A batch as received; ``batch_id`` is the number printed on it."""

    clinic_id: str
    batch_id: str
    vaccine: str
    expire_date: date
    doses_received: int
    doses_used: int = 0
    state: str = ACTIVE
    request_id: str = ""
    receive_time: datetime | None = None

    @property
    def doses_left(self) -> int:
        return self.doses_received - self.doses_used


@dataclass(frozen=True)
class DoseUseRow:
    """A dose given for an appointment, from a batch, fulfilling its hold."""

    appointment_id: str
    clinic_id: str
    batch_id: str
    vaccine: str
    hold_id: str
    administer_time: datetime
    request_id: str
    create_time: datetime


# Raises why a dose cannot come from the batch for the hold (either may be
# missing); returns when it can.
Judge = Callable[[BatchRow | None, HoldRow | None], None]


def batch_request_id(what: str, clinic_id: str, batch_id: str) -> str:
    """The request id of the adjustment a batch's receipt or expiry records:
    derived from the clinic and the batch number, short enough for any
    request id field."""
    digest = hashlib.sha256(f"{clinic_id}/{batch_id}".encode()).hexdigest()
    return f"batch-{what}-{digest[:32]}"


class BatchStore:
    """Batches and dose uses in the ``inventory`` schema."""

    def __init__(self, stock: InventoryStore) -> None:
        self.stock = stock
        self.engine = stock.engine
        self.events = stock.events

    async def get(self, clinic_id: str, batch_id: str) -> BatchRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(batches).where(*_key(clinic_id, batch_id)))
            ).first()
        return _batch_row(row)

    async def of_clinic(
        self, clinic_id: str, offset: int, limit: int
    ) -> list[BatchRow]:
        """A clinic's batches, soonest expiry first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(batches)
                .where(batches.c.clinic_id == clinic_id)
                .order_by(batches.c.expire_date, batches.c.batch_id)
                .offset(offset)
                .limit(limit)
            )
            return [_batch_row(row) for row in rows]

    # Receipt and expiry

    async def receive(
        self, batch: BatchRow, actor: str, now: datetime
    ) -> tuple[BatchRow, Adjustment]:
        """Records a batch and adds its doses to the stock; raises
        ``Refused("BATCH_EXISTS")`` when the clinic has a batch of that
        number already."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(batches)
                    .values(**_batch_values(batch), receive_time=now)
                    .on_conflict_do_nothing()
                    .returning(*batches.c)
                )
            ).first()
            if row is None:
                raise Refused("BATCH_EXISTS")
            received = _batch_row(row)
            adjustment = await self.stock.adjust_in(
                conn,
                batch.clinic_id,
                batch.vaccine,
                batch.doses_received,
                f"batch {batch.batch_id} received",
                now,
                batch_request_id("received", batch.clinic_id, batch.batch_id),
                actor,
            )
            event = self.events.batch_received(received, actor, now, batch.request_id)
            await write_events(conn, outbox, [event], now)
        return received, adjustment

    async def due(self, today: date) -> list[tuple[str, str]]:
        """The clinic and batch ids of the active batches whose last day is
        before ``today``."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(batches.c.clinic_id, batches.c.batch_id)
                .where(batches.c.state == ACTIVE, batches.c.expire_date < today)
                .order_by(
                    batches.c.expire_date, batches.c.clinic_id, batches.c.batch_id
                )
            )
            return [tuple(row) for row in rows]

    async def expire(
        self, clinic_id: str, batch_id: str, request_id: str, now: datetime
    ) -> tuple[BatchRow, Adjustment | None] | None:
        """Expires an active batch under ``request_id`` and removes the doses
        it had left from the stock, never more than the stock has. Returns
        the batch with its adjustment (``None`` when nothing was removed), or
        ``None`` when the batch was no longer active."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    update(batches)
                    .where(*_key(clinic_id, batch_id), batches.c.state == ACTIVE)
                    .values(
                        state=EXPIRED, expire_request_id=request_id, expire_time=now
                    )
                    .returning(*batches.c)
                )
            ).first()
            if row is None:
                return None
            batch = _batch_row(row)
            in_stock = await doses_in_stock(conn, clinic_id, batch.vaccine)
            removed = min(batch.doses_left, in_stock)
            adjustment = None
            if removed > 0:
                adjustment = await self.stock.adjust_in(
                    conn,
                    clinic_id,
                    batch.vaccine,
                    -removed,
                    f"batch {batch_id} expired",
                    now,
                    batch_request_id("expired", clinic_id, batch_id),
                )
            event = self.events.batch_expired(batch, removed, now, request_id)
            await write_events(conn, outbox, [event], now)
        return batch, adjustment

    async def expired_by(
        self, request_id: str
    ) -> tuple[list[BatchRow], list[Adjustment]]:
        """The batches expired under ``request_id``, and the adjustments that
        removed their doses."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(batches)
                .where(batches.c.expire_request_id == request_id)
                .order_by(
                    batches.c.expire_date, batches.c.clinic_id, batches.c.batch_id
                )
            )
            expired = [_batch_row(row) for row in rows]
            adjustments = []
            for batch in expired:
                adjustment = await recorded_adjustment(
                    conn, batch_request_id("expired", batch.clinic_id, batch.batch_id)
                )
                if adjustment is not None:
                    adjustments.append(adjustment)
        return expired, adjustments

    # Doses given

    async def dose_use(self, appointment_id: str) -> DoseUseRow | None:
        async with self.engine.connect() as conn:
            return await _use_of(conn, appointment_id)

    async def consume(
        self, use: DoseUseRow, judge: Judge, now: datetime
    ) -> tuple[DoseUseRow, bool]:
        """Records ``use`` unless the appointment has a dose recorded already;
        returns the appointment's record and whether this call made it.

        ``use`` names the batch by ``clinic_id`` and ``batch_id``; its vaccine
        is the batch's. Calls for one appointment wait for each other, so
        only the first records a use. ``judge`` sees the batch and the hold,
        both locked, and raises to refuse.
        """
        async with self.engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(_lock_key(use))))
            first = await _use_of(conn, use.appointment_id)
            if first is not None:
                return first, False
            batch = await _locked_batch(conn, use.clinic_id, use.batch_id)
            hold = await locked_hold(conn, use.hold_id)
            judge(batch, hold)
            recorded = replace(use, vaccine=batch.vaccine, create_time=now)
            await _use_dose(conn, batch, hold, now)
            await conn.execute(insert(dose_uses).values(**recorded.__dict__))
        return recorded, True


async def _use_dose(
    conn: AsyncConnection, batch: BatchRow, hold: HoldRow, now: datetime
) -> None:
    """One dose fewer in the batch; the hold USED; the dose and its
    committed claim out of the stock, free doses unchanged."""
    await conn.execute(
        update(batches)
        .where(*_key(batch.clinic_id, batch.batch_id))
        .values(
            doses_used=batches.c.doses_used + 1,
            state=case(
                (batches.c.doses_used + 1 >= batches.c.doses_received, USED_UP),
                else_=batches.c.state,
            ),
        )
    )
    await conn.execute(
        update(holds)
        .where(holds.c.hold_id == hold.hold_id)
        .values(state=USED, updated_at=now)
    )
    # A dose given cannot be one a shortfall keeps only for its claim.
    await conn.execute(
        update(dose_stock)
        .where(
            dose_stock.c.clinic_id == hold.clinic_id,
            dose_stock.c.vaccine == hold.vaccine,
        )
        .values(
            doses=dose_stock.c.doses - 1,
            doses_committed=dose_stock.c.doses_committed - 1,
            doses_short=func.least(dose_stock.c.doses_short, dose_stock.c.doses - 1),
        )
    )


def _lock_key(use: DoseUseRow):
    """The advisory lock that lines up the calls for one appointment."""
    return func.hashtextextended(literal(f"dose-use/{use.appointment_id}"), 0)


def _key(clinic_id: str, batch_id: str) -> tuple:
    return batches.c.clinic_id == clinic_id, batches.c.batch_id == batch_id


async def _locked_batch(
    conn: AsyncConnection, clinic_id: str, batch_id: str
) -> BatchRow | None:
    row = (
        await conn.execute(
            select(batches).where(*_key(clinic_id, batch_id)).with_for_update()
        )
    ).first()
    return _batch_row(row)


async def _use_of(conn: AsyncConnection, appointment_id: str) -> DoseUseRow | None:
    row = (
        await conn.execute(
            select(dose_uses).where(dose_uses.c.appointment_id == appointment_id)
        )
    ).first()
    return None if row is None else DoseUseRow(**row._mapping)


def _batch_values(batch: BatchRow) -> dict:
    return {
        "clinic_id": batch.clinic_id,
        "batch_id": batch.batch_id,
        "vaccine": batch.vaccine,
        "expire_date": batch.expire_date,
        "doses_received": batch.doses_received,
        "request_id": batch.request_id,
    }


def _batch_row(row) -> BatchRow | None:
    if row is None:
        return None
    return BatchRow(
        row.clinic_id,
        row.batch_id,
        row.vaccine,
        row.expire_date,
        row.doses_received,
        row.doses_used,
        row.state,
        row.request_id,
        row.receive_time,
    )
