"""PostgreSQL storage of health records and vaccination histories."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from vaxbook.events.v1 import events_pb2

from services.common.db import autocommit
from services.common.outbox import write_events
from services.patient.tables import (
    outbox,
    patients,
    update_requests,
    vaccinations,
)


@dataclass(frozen=True)
class PatientFields:
    """What a person's record says, apart from their history."""

    birth_date: date
    region: str
    allergies: list[str]
    contraindications: list[str]
    guardian_consent: bool
    display_name: str = ""


@dataclass(frozen=True)
class NewVaccination:
    vaccine: str
    dose_number: int
    given_date: date
    # Empty for a dose given outside vaxbook's clinics.
    clinic_id: str
    batch: str


@dataclass(frozen=True)
class VaccinationRow:
    id: str
    person_key: str
    vaccine: str
    dose_number: int
    given_date: date
    clinic_id: str
    batch: str
    request_id: str
    create_time: datetime


@dataclass(frozen=True)
class PatientRow:
    person_key: str
    fields: PatientFields
    update_time: datetime
    create_time: datetime
    # Oldest first.
    vaccinations: list[VaccinationRow]


_VACCINATION_COLUMNS = (
    vaccinations.c.id,
    vaccinations.c.person_key,
    vaccinations.c.vaccine,
    vaccinations.c.dose_number,
    vaccinations.c.given_date,
    vaccinations.c.clinic_id,
    vaccinations.c.batch,
    vaccinations.c.request_id,
    vaccinations.c.create_time,
)


# A record with one row per dose given, oldest first; a record without
# history is one row whose dose columns are NULL.
_RECORD_QUERY = (
    select(
        patients,
        *(column.label(f"dose_{column.name}") for column in _VACCINATION_COLUMNS),
    )
    .select_from(patients.outerjoin(vaccinations))
    .where(patients.c.person_key.in_(bindparam("person_keys", expanding=True)))
    .order_by(
        patients.c.person_key,
        vaccinations.c.given_date,
        vaccinations.c.create_time,
        vaccinations.c.id,
    )
)


class PatientStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Reads are single statements: one round trip, no BEGIN.
        self.single = autocommit(engine)

    async def get(self, person_key: str) -> PatientRow | None:
        """The record with its history, or ``None`` when there is none."""
        async with self.single.connect() as conn:
            return await _patient(conn, person_key)

    async def get_many(self, person_keys: list[str]) -> list[PatientRow]:
        """The records that exist among ``person_keys``, with their history."""
        async with self.single.connect() as conn:
            rows = await conn.execute(_RECORD_QUERY, {"person_keys": person_keys})
            return _records(rows.all())

    async def record_view(
        self, view: tuple[str, events_pb2.Event], now: datetime
    ) -> None:
        """Writes a view of a record to the outbox, in a statement of its own."""
        async with self.single.connect() as conn:
            await write_events(conn, outbox, [view], now)

    async def exists(self, person_key: str) -> bool:
        query = select(patients.c.person_key).where(patients.c.person_key == person_key)
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def update(
        self, person_key: str, fields: PatientFields, request_id: str, now: datetime
    ) -> PatientRow | None:
        """Replaces the fields of an existing record; ``None`` when there is
        none. A retried ``request_id`` leaves the record as it is."""
        async with self.engine.begin() as conn:
            if await _lock_patient(conn, person_key) is None:
                return None
            await _apply(conn, person_key, fields, request_id, now)
            return await _patient(conn, person_key)

    async def upsert(
        self, person_key: str, fields: PatientFields, request_id: str, now: datetime
    ) -> PatientRow:
        """Creates the record, or replaces its fields when it exists. A
        retried ``request_id`` leaves the record as it is."""
        async with self.engine.begin() as conn:
            created = await conn.execute(
                insert(patients)
                .values(
                    person_key=person_key,
                    create_time=now,
                    update_time=now,
                    **fields.__dict__,
                )
                .on_conflict_do_nothing(index_elements=[patients.c.person_key])
                .returning(patients.c.person_key)
            )
            if created.first() is None:
                await _lock_patient(conn, person_key)
            await _apply(conn, person_key, fields, request_id, now)
            row = await _patient(conn, person_key)
        assert row is not None
        return row

    async def record_vaccination(
        self, person_key: str, dose: NewVaccination, request_id: str, now: datetime
    ) -> VaccinationRow | None:
        """Adds a dose to the history; ``None`` when the person has no record.

        Returns the row now stored for ``request_id``, or, when the same dose
        was already recorded by another request, that earlier row: the caller
        tells them apart by ``request_id`` and ``person_key``.
        """
        async with self.engine.begin() as conn:
            if await _lock_patient(conn, person_key) is None:
                return None
            inserted = await conn.execute(
                insert(vaccinations)
                .values(
                    id=uuid.uuid4().hex,
                    person_key=person_key,
                    request_id=request_id,
                    create_time=now,
                    **dose.__dict__,
                )
                .on_conflict_do_nothing()
                .returning(vaccinations.c.id)
            )
            if inserted.first() is not None:
                await conn.execute(
                    update(patients)
                    .where(patients.c.person_key == person_key)
                    .values(update_time=now)
                )
            return await _vaccination_for(conn, person_key, dose, request_id)


async def _apply(
    conn: AsyncConnection,
    person_key: str,
    fields: PatientFields,
    request_id: str,
    now: datetime,
) -> None:
    """Writes ``fields`` to the locked record unless ``request_id`` already
    changed it."""
    first_time = await conn.execute(
        insert(update_requests)
        .values(person_key=person_key, request_id=request_id, create_time=now)
        .on_conflict_do_nothing()
        .returning(update_requests.c.request_id)
    )
    if first_time.first() is not None:
        await conn.execute(
            update(patients)
            .where(patients.c.person_key == person_key)
            .values(update_time=now, **fields.__dict__)
        )


async def _lock_patient(conn: AsyncConnection, person_key: str) -> str | None:
    """Locks the record's row until the transaction ends, so concurrent
    recordings of one person's doses are decided one at a time."""
    query = (
        select(patients.c.person_key)
        .where(patients.c.person_key == person_key)
        .with_for_update()
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def _vaccination_for(
    conn: AsyncConnection, person_key: str, dose: NewVaccination, request_id: str
) -> VaccinationRow:
    """The row recorded by ``request_id``, else the same dose recorded by
    another request."""
    query = select(*_VACCINATION_COLUMNS)
    row = (
        await conn.execute(query.where(vaccinations.c.request_id == request_id))
    ).first()
    if row is None:
        row = (
            await conn.execute(
                query.where(
                    vaccinations.c.person_key == person_key,
                    vaccinations.c.vaccine == dose.vaccine,
                    vaccinations.c.dose_number == dose.dose_number,
                )
            )
        ).one()
    return VaccinationRow(*row)


async def _patient(conn: AsyncConnection, person_key: str) -> PatientRow | None:
    """The record and its history, read in one statement."""
    rows = (await conn.execute(_RECORD_QUERY, {"person_keys": [person_key]})).all()
    records = _records(rows)
    return records[0] if records else None


def _records(rows) -> list[PatientRow]:
    """Records from the rows of :data:`_RECORD_QUERY`, which come grouped by
    person and each person's doses oldest first."""
    records = []
    for _, group in itertools.groupby(rows, key=lambda row: row.person_key):
        group = list(group)
        first = group[0]
        records.append(
            PatientRow(
                person_key=first.person_key,
                fields=PatientFields(
                    birth_date=first.birth_date,
                    region=first.region,
                    allergies=list(first.allergies),
                    contraindications=list(first.contraindications),
                    guardian_consent=first.guardian_consent,
                    display_name=first.display_name,
                ),
                update_time=first.update_time,
                create_time=first.create_time,
                vaccinations=[
                    VaccinationRow(*row[-len(_VACCINATION_COLUMNS) :])
                    for row in group
                    if row.dose_id is not None
                ],
            )
        )
    return records
