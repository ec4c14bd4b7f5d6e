"""PostgreSQL storage of the vaccination day: administrations, reissued QR
codes, a clinic's day of appointments and the replies kept per scanner nonce.

An administration is a guarded change from CONFIRMED, written in the same
transaction as its event, so of two scanners recording one appointment only
one changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appointment.events import AppointmentEvents, Outgoing
from services.appointment.rows import AppointmentRow
from services.appointment.tables import appointments, outbox, scanner_replies
from services.common.db import autocommit
from services.common.outbox import write_events


@dataclass(frozen=True)
class ScannedRow:
    """The part of an appointment a scan is judged on."""

    id: str
    citizen_id: str
    clinic_id: str
    vaccine: str
    dose_number: int
    state: str
    slot_start: datetime
    slot_end: datetime
    qr_generation: int
    administer_time: datetime | None


_SCANNED_COLUMNS = tuple(appointments.c[field.name] for field in fields(ScannedRow))


class ScanStore:
    def __init__(self, engine: AsyncEngine, events: AppointmentEvents) -> None:
        self.engine = engine
        self.events = events
        self.single = autocommit(engine)

    async def administer(
        self,
        appointment_id: str,
        batch: str,
        administer_time: datetime,
        vaccinator: str,
        device_id: str,
        actor: str,
        now: datetime,
    ) -> AppointmentRow | None:
        """Marks a CONFIRMED appointment ADMINISTERED with its event, owing
        the dose to the vaccination history; ``None`` when it is no longer
        CONFIRMED."""
        statement = (
            update(appointments)
            .where(
                appointments.c.id == appointment_id,
                appointments.c.state == "CONFIRMED",
            )
            .values(
                state="ADMINISTERED",
                administer_time=administer_time,
                administer_batch=batch,
                vaccinator=vaccinator,
                administer_device=device_id,
                history_pending=True,
                update_time=now,
            )
            .returning(*appointments.c)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                return None
            row = AppointmentRow(*row)
            event = self.events.ended(row, was_confirmed=True, actor=actor)
            await write_events(conn, outbox, [event], now)
        return row

    async def scanned(self, ids: list[str]) -> list[ScannedRow | None]:
        """What a scan needs of the appointments of ``ids``, in their order;
        ``None`` for unknown ones. Only those columns are read: a busy
        scanner reads many rows a second."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(*_SCANNED_COLUMNS).where(appointments.c.id.in_(set(ids)))
            )
            found = {row.id: ScannedRow(*row) for row in rows}
        return [found.get(appointment_id) for appointment_id in ids]

    async def reissue(
        self, appointment_id: str, key_id: str, now: datetime
    ) -> AppointmentRow | None:
        """Moves a CONFIRMED appointment's code to its next generation,
        signed with ``key_id``; ``None`` when it is not CONFIRMED."""
        async with self.single.connect() as conn:
            row = (
                await conn.execute(
                    update(appointments)
                    .where(
                        appointments.c.id == appointment_id,
                        appointments.c.state == "CONFIRMED",
                    )
                    .values(
                        qr_generation=appointments.c.qr_generation + 1,
                        qr_key_id=key_id,
                        update_time=now,
                    )
                    .returning(*appointments.c)
                )
            ).first()
        return AppointmentRow(*row) if row else None

    async def issued_at_clinic(
        self, clinic_id: str, start: datetime, end: datetime
    ) -> list[AppointmentRow]:
        """Appointments at the clinic whose slot starts in ``[start, end)``
        and that were ever confirmed (so have had a code), by slot."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(
                    appointments.c.clinic_id == clinic_id,
                    appointments.c.slot_start >= start,
                    appointments.c.slot_start < end,
                    appointments.c.confirm_time.is_not(None),
                )
                .order_by(appointments.c.slot_start, appointments.c.id)
            )
            return [AppointmentRow(*row) for row in rows]

    async def history_owed(self, limit: int) -> list[AppointmentRow]:
        """Administered appointments whose dose is not in the history yet."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(appointments.c.history_pending)
                .order_by(appointments.c.administer_time)
                .limit(limit)
            )
            return [AppointmentRow(*row) for row in rows]

    async def history_recorded(self, appointment_id: str) -> None:
        async with self.single.connect() as conn:
            await conn.execute(
                update(appointments)
                .where(appointments.c.id == appointment_id)
                .values(history_pending=False)
            )

    async def record_views(self, views: list[Outgoing]) -> list[None]:
        """Writes views of personal data to the outbox, for the audit trail,
        in one statement."""
        if views:
            written_at = views[-1][1].occur_time.ToDatetime(tzinfo=UTC)
            async with self.single.connect() as conn:
                await write_events(conn, outbox, views, written_at)
        return [None] * len(views)

    async def reply_for(self, device_id: str, nonce: str) -> bytes | None:
        """The answer already given to a device's message, if any."""
        async with self.single.connect() as conn:
            return await conn.scalar(
                select(scanner_replies.c.reply).where(
                    and_(
                        scanner_replies.c.device_id == device_id,
                        scanner_replies.c.nonce == nonce,
                    )
                )
            )

    async def keep_reply(
        self, device_id: str, nonce: str, clinic_id: str, reply: bytes, now: datetime
    ) -> bytes:
        """Keeps the answer to a device's message; when another answer was
        kept first (the message sent twice at once), returns that one."""
        async with self.single.connect() as conn:
            await conn.execute(
                insert(scanner_replies)
                .values(
                    device_id=device_id,
                    nonce=nonce,
                    clinic_id=clinic_id,
                    reply=reply,
                    create_time=now,
                )
                .on_conflict_do_nothing()
            )
        return await self.reply_for(device_id, nonce) or reply
