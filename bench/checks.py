"""Oversell checks: no slot or dose stock may have more claimed than exists.

For each slot a scenario used, three readings are compared with the totals:
PostgreSQL's counters (``inventory.slot_seats`` and ``inventory.dose_stock``),
the inventory service's ``GetAvailability``, and, for slots booked through the
appointment service, the active appointments recorded for the slot. Every
seat or dose beyond its total counts once per reading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment.tables import ACTIVE_STATES, appointments
from services.common.names import SLOT
from services.inventory.tables import dose_stock, slot_seats

log = logging.getLogger(__name__)

CALL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class UsedSlot:
    """A slot a scenario claimed seats in."""

    clinic_id: str
    slot_id: str
    vaccine: str
    booked_by_appointments: bool

    @classmethod
    def from_name(cls, name: str, vaccine: str, booked_by_appointments: bool):
        ids = SLOT.parse(name)
        return cls(ids["clinic"], ids["slot"], vaccine, booked_by_appointments)

    @property
    def name(self) -> str:
        return SLOT.format(clinic=self.clinic_id, slot=self.slot_id)


@dataclass(frozen=True)
class Reading:
    """One source's count of what is claimed against what exists."""

    source: str
    claimed: int
    total: int

    @classmethod
    def of_counts(cls, source: str, counts: inv.Counts) -> Reading:
        return cls(source, counts.held + counts.committed, counts.total)

    @property
    def excess(self) -> int:
        return max(0, self.claimed - self.total)


class OversellCheck:
    """Counts claims beyond totals, reading PostgreSQL and the inventory service."""

    def __init__(
        self, engine: AsyncEngine, inventory: inventory_pb2_grpc.InventoryServiceStub
    ) -> None:
        self.engine = engine
        self.inventory = inventory

    async def excess(self, scenario: str, slots: list[UsedSlot]) -> int:
        """Seats and doses claimed beyond their totals, summed over readings."""
        total = 0
        dose_stocks_seen: set[tuple[str, str]] = set()
        for slot in slots:
            stock = (slot.clinic_id, slot.vaccine)
            first_of_stock = stock not in dose_stocks_seen
            dose_stocks_seen.add(stock)
            total += await self._slot_excess(scenario, slot, first_of_stock)
        return total

    async def pending_appointments(self, slot: UsedSlot) -> int:
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(func.count()).where(
                    appointments.c.slot_id == slot.slot_id,
                    appointments.c.state == "PENDING",
                )
            )

    async def _slot_excess(
        self, scenario: str, slot: UsedSlot, with_doses: bool
    ) -> int:
        availability = await self.inventory.GetAvailability(
            inv.GetAvailabilityRequest(slot=slot.name, vaccine=slot.vaccine),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        readings = [
            await self._database_seats(slot),
            Reading.of_counts("GetAvailability seats", availability.seats),
        ]
        if with_doses:
            readings.append(await self._database_doses(slot))
            readings.append(
                Reading.of_counts("GetAvailability doses", availability.doses)
            )
        if slot.booked_by_appointments:
            readings.append(await self._active_appointments(slot))
        for reading in readings:
            if reading.excess:
                log.error(
                    "%s: %s oversold in %s: %d claimed of %d",
                    scenario,
                    slot.name,
                    reading.source,
                    reading.claimed,
                    reading.total,
                )
        return sum(reading.excess for reading in readings)

    async def _database_seats(self, slot: UsedSlot) -> Reading:
        async with self.engine.connect() as conn:
            claimed, capacity = (
                await conn.execute(
                    select(
                        slot_seats.c.seats_committed + slot_seats.c.seats_held,
                        slot_seats.c.capacity,
                    ).where(slot_seats.c.slot_id == slot.slot_id)
                )
            ).one()
        return Reading("database seats", claimed, capacity)

    async def _database_doses(self, slot: UsedSlot) -> Reading:
        async with self.engine.connect() as conn:
            claimed, doses = (
                await conn.execute(
                    select(
                        dose_stock.c.doses_committed + dose_stock.c.doses_held,
                        dose_stock.c.doses,
                    ).where(
                        dose_stock.c.clinic_id == slot.clinic_id,
                        dose_stock.c.vaccine == slot.vaccine,
                    )
                )
            ).one()
        return Reading("database doses", claimed, doses)

    async def _active_appointments(self, slot: UsedSlot) -> Reading:
        async with self.engine.connect() as conn:
            active = await conn.scalar(
                select(func.count()).where(
                    appointments.c.slot_id == slot.slot_id,
                    appointments.c.state.in_(ACTIVE_STATES),
                )
            )
            capacity = await conn.scalar(
                select(slot_seats.c.capacity).where(
                    slot_seats.c.slot_id == slot.slot_id
                )
            )
        return Reading("active appointments", active, capacity)
