"""PostgreSQL storage of clinics and slots.

Every change writes its event to the clinic outbox in the same transaction; a
retried request that changes nothing writes none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.clinic.events import ClinicEvents
from services.clinic.tables import clinics, dose_adjustments, outbox, slots
from services.common.outbox import write_events


@dataclass(frozen=True)
class ClinicRow:
    id: str
    display_name: str
    region: str
    address: str
    vaccines: list[str]
    create_time: datetime


@dataclass(frozen=True)
class SlotRow:
    id: str
    clinic_id: str
    start_time: datetime
    end_time: datetime
    capacity: int
    region: str
    vaccines: list[str]
    cancel_reason: str | None = None
    cancel_time: datetime | None = None


_SLOT_COLUMNS = (
    slots.c.id,
    slots.c.clinic_id,
    slots.c.start_time,
    slots.c.end_time,
    slots.c.capacity,
    clinics.c.region,
    clinics.c.vaccines,
    slots.c.cancel_reason,
    slots.c.cancel_time,
)


@dataclass(frozen=True)
class AdjustmentRow:
    """A dose stock adjustment as staff asked for it."""

    request_id: str
    clinic_id: str
    vaccine: str
    delta: int
    reason: str
    actor: str


class ClinicStore:
    def __init__(self, engine: AsyncEngine, events: ClinicEvents) -> None:
        self.engine = engine
        self.events = events

    async def create_clinic(
        self, request_id: str, fields: dict, now: datetime
    ) -> ClinicRow:
        """Inserts a clinic; a retried ``request_id`` returns the first one."""
        async with self.engine.begin() as conn:
            inserted = await conn.scalar(
                insert(clinics)
                .values(
                    id=uuid.uuid4().hex,
                    request_id=request_id,
                    create_time=now,
                    **fields,
                )
                .on_conflict_do_nothing(index_elements=[clinics.c.request_id])
                .returning(clinics.c.id)
            )
            found = await conn.execute(
                select(clinics).where(clinics.c.request_id == request_id)
            )
            row = _clinic(found.one())
            if inserted is not None:
                event = self.events.clinic_created(row, request_id)
                await write_events(conn, outbox, [event], now)
        return row

    async def get_clinic(self, clinic_id: str) -> ClinicRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(clinics).where(clinics.c.id == clinic_id))
            ).first()
        return _clinic(row) if row else None

    async def list_clinics(
        self, region: str, vaccine: str, offset: int, limit: int
    ) -> list[ClinicRow]:
        query = select(clinics).order_by(clinics.c.id).offset(offset).limit(limit)
        if region:
            query = query.where(clinics.c.region == region)
        if vaccine:
            query = query.where(clinics.c.vaccines.any_() == vaccine)
        async with self.engine.connect() as conn:
            return [_clinic(row) for row in await conn.execute(query)]

    async def create_slot(
        self, request_id: str, clinic_id: str, fields: dict, now: datetime
    ) -> SlotRow:
        """Inserts a slot; a retried ``request_id`` returns the first one."""
        async with self.engine.begin() as conn:
            inserted = await conn.scalar(
                insert(slots)
                .values(
                    id=uuid.uuid4().hex,
                    clinic_id=clinic_id,
                    request_id=request_id,
                    **fields,
                )
                .on_conflict_do_nothing(index_elements=[slots.c.request_id])
                .returning(slots.c.id)
            )
            found = await conn.execute(
                select(*_SLOT_COLUMNS)
                .join(clinics)
                .where(slots.c.request_id == request_id)
            )
            row = SlotRow(*found.one())
            if inserted is not None:
                event = self.events.slot_created(row, now, request_id)
                await write_events(conn, outbox, [event], now)
        return row

    async def get_slot(self, clinic_id: str, slot_id: str) -> SlotRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_SLOT_COLUMNS)
                    .join(clinics)
                    .where(slots.c.id == slot_id, slots.c.clinic_id == clinic_id)
                )
            ).first()
        return SlotRow(*row) if row else None

    async def list_slots(
        self,
        clinic_id: str | None,
        region: str,
        vaccine: str,
        window: tuple[datetime | None, datetime | None],
        show_cancelled: bool,
        offset: int,
        limit: int,
    ) -> list[SlotRow]:
        """Slots by start time, filtered; ``window`` bounds the start time
        (from, before), either end open when ``None``."""
        query = (
            select(*_SLOT_COLUMNS)
            .join(clinics)
            .order_by(slots.c.start_time, slots.c.id)
            .offset(offset)
            .limit(limit)
        )
        if clinic_id:
            query = query.where(slots.c.clinic_id == clinic_id)
        if region:
            query = query.where(clinics.c.region == region)
        if vaccine:
            query = query.where(clinics.c.vaccines.any_() == vaccine)
        start_from, start_before = window
        if start_from is not None:
            query = query.where(slots.c.start_time >= start_from)
        if start_before is not None:
            query = query.where(slots.c.start_time < start_before)
        if not show_cancelled:
            query = query.where(slots.c.cancel_time.is_(None))
        async with self.engine.connect() as conn:
            return [SlotRow(*row) for row in await conn.execute(query)]

    async def set_capacity(
        self,
        clinic_id: str,
        slot_id: str,
        capacity: int,
        now: datetime,
        request_id: str,
    ) -> None:
        """Sets a slot's seats; the event is written only when they change."""
        this_slot = and_(slots.c.id == slot_id, slots.c.clinic_id == clinic_id)
        async with self.engine.begin() as conn:
            capacity_before = await conn.scalar(
                select(slots.c.capacity).where(this_slot).with_for_update()
            )
            if capacity_before is None or capacity_before == capacity:
                return
            await conn.execute(update(slots).where(this_slot).values(capacity=capacity))
            event = self.events.capacity_changed(
                clinic_id, slot_id, capacity_before, capacity, now, request_id
            )
            await write_events(conn, outbox, [event], now)

    async def cancel_slots(
        self,
        clinic_id: str,
        slot_ids: list[str],
        reason: str,
        actor: str,
        now: datetime,
        request_id: str,
    ) -> list[SlotRow]:
        """Marks the slots cancelled, each with its event, and as owing the
        cancellation of their appointments; slots cancelled before keep their
        first reason. Returns every slot asked for, as it now is."""
        async with self.engine.begin() as conn:
            newly = await conn.execute(
                update(slots)
                .where(
                    slots.c.clinic_id == clinic_id,
                    slots.c.id.in_(slot_ids),
                    slots.c.cancel_time.is_(None),
                )
                .values(
                    cancel_reason=reason, cancel_time=now, appointments_settled=False
                )
                .returning(slots.c.id)
            )
            cancelled = set(newly.scalars())
            found = await conn.execute(
                select(*_SLOT_COLUMNS)
                .join(clinics)
                .where(slots.c.clinic_id == clinic_id, slots.c.id.in_(slot_ids))
                .order_by(slots.c.start_time, slots.c.id)
            )
            rows = [SlotRow(*row) for row in found]
            events = [
                self.events.slot_cancelled(row, actor, now, request_id)
                for row in rows
                if row.id in cancelled
            ]
            await write_events(conn, outbox, events, now)
        return rows

    async def owing_cancellations(self, limit: int) -> list[SlotRow]:
        """Cancelled slots whose appointments may still be live."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(*_SLOT_COLUMNS)
                .join(clinics)
                .where(slots.c.appointments_settled.is_(False))
                .order_by(slots.c.cancel_time)
                .limit(limit)
            )
            return [SlotRow(*row) for row in rows]

    async def cancellations_settled(self, clinic_id: str, slot_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(slots)
                .where(slots.c.id == slot_id, slots.c.clinic_id == clinic_id)
                .values(appointments_settled=True)
            )

    # Dose stock adjustments

    async def owe_adjustment(self, row: AdjustmentRow, now: datetime) -> AdjustmentRow:
        """Records an adjustment as owed, once per request id; returns the
        adjustment first recorded under that id."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(dose_adjustments)
                .values(**row.__dict__, create_time=now)
                .on_conflict_do_nothing(index_elements=[dose_adjustments.c.request_id])
            )
            found = (
                await conn.execute(
                    select(*_ADJUSTMENT_COLUMNS).where(
                        dose_adjustments.c.request_id == row.request_id
                    )
                )
            ).one()
        return AdjustmentRow(*found)

    async def owe_new_adjustment(self, row: AdjustmentRow, now: datetime) -> bool:
        """Records an adjustment as owed unless its request id is known;
        whether it was new."""
        async with self.engine.begin() as conn:
            inserted = await conn.scalar(
                insert(dose_adjustments)
                .values(**row.__dict__, create_time=now)
                .on_conflict_do_nothing(index_elements=[dose_adjustments.c.request_id])
                .returning(dose_adjustments.c.seq)
            )
        return inserted is not None

    async def owing_adjustments(self, limit: int) -> list[AdjustmentRow]:
        """Adjustments not yet settled, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(*_ADJUSTMENT_COLUMNS)
                .where(dose_adjustments.c.settled.is_(False))
                .order_by(dose_adjustments.c.seq)
                .limit(limit)
            )
            return [AdjustmentRow(*row) for row in rows]

    async def superseded(self, request_id: str) -> bool:
        """Whether a later adjustment of the same stock was asked for: it
        judged the shortfall on a stock that already counted this one."""
        this = dose_adjustments.alias("this")
        later = (
            select(dose_adjustments.c.seq)
            .where(
                dose_adjustments.c.clinic_id == this.c.clinic_id,
                dose_adjustments.c.vaccine == this.c.vaccine,
                dose_adjustments.c.seq > this.c.seq,
            )
            .exists()
        )
        async with self.engine.connect() as conn:
            return bool(
                await conn.scalar(select(later).where(this.c.request_id == request_id))
            )

    async def adjustment_settled(self, request_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(dose_adjustments)
                .where(dose_adjustments.c.request_id == request_id)
                .values(settled=True)
            )


_ADJUSTMENT_COLUMNS = (
    dose_adjustments.c.request_id,
    dose_adjustments.c.clinic_id,
    dose_adjustments.c.vaccine,
    dose_adjustments.c.delta,
    dose_adjustments.c.reason,
    dose_adjustments.c.actor,
)


def _clinic(row) -> ClinicRow:
    return ClinicRow(
        row.id,
        row.display_name,
        row.region,
        row.address,
        list(row.vaccines),
        row.create_time,
    )
