"""PostgreSQL storage of clinics and slots."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.clinic.tables import clinics, slots


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


_SLOT_COLUMNS = (
    slots.c.id,
    slots.c.clinic_id,
    slots.c.start_time,
    slots.c.end_time,
    slots.c.capacity,
    clinics.c.region,
    clinics.c.vaccines,
)


class ClinicStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_clinic(
        self, request_id: str, fields: dict, now: datetime
    ) -> ClinicRow:
        """Inserts a clinic; a retried ``request_id`` returns the first one."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(clinics)
                .values(
                    id=uuid.uuid4().hex,
                    request_id=request_id,
                    create_time=now,
                    **fields,
                )
                .on_conflict_do_nothing(index_elements=[clinics.c.request_id])
            )
            row = (
                await conn.execute(
                    select(clinics).where(clinics.c.request_id == request_id)
                )
            ).one()
        return _clinic(row)

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
        self, request_id: str, clinic_id: str, fields: dict
    ) -> SlotRow:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(slots)
                .values(
                    id=uuid.uuid4().hex,
                    clinic_id=clinic_id,
                    request_id=request_id,
                    **fields,
                )
                .on_conflict_do_nothing(index_elements=[slots.c.request_id])
            )
            row = (
                await conn.execute(
                    select(*_SLOT_COLUMNS)
                    .join(clinics)
                    .where(slots.c.request_id == request_id)
                )
            ).one()
        return SlotRow(*row)

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
        day: datetime | None,
        offset: int,
        limit: int,
    ) -> list[SlotRow]:
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
        if day is not None:
            query = query.where(
                slots.c.start_time >= day, slots.c.start_time < day + timedelta(days=1)
            )
        async with self.engine.connect() as conn:
            return [SlotRow(*row) for row in await conn.execute(query)]

    async def set_capacity(self, clinic_id: str, slot_id: str, capacity: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(slots)
                .where(slots.c.id == slot_id, slots.c.clinic_id == clinic_id)
                .values(capacity=capacity)
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
