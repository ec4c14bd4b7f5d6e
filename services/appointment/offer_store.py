"""PostgreSQL storage of rebooking offers, and of the appointments a clinic
cancels.

An offer is written in the same transaction as its event and as the flag on
the cancelled appointment that points to it; accepting one writes the new
appointment in the same transaction as the offer's change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appointment.events import AppointmentEvents
from services.appointment.rows import AppointmentRow, OfferRow
from services.appointment.tables import (
    ACTIVE_STATES,
    appointments,
    outbox,
    rebooking_offers,
)
from services.common.db import autocommit
from services.common.outbox import write_events


class AlreadyBooked(Exception):
    """The citizen booked this dose elsewhere since the offer was made."""


class OfferStore:
    def __init__(self, engine: AsyncEngine, events: AppointmentEvents) -> None:
        self.engine = engine
        self.events = events
        self.single = autocommit(engine)

    async def live_in_slot(self, clinic_id: str, slot_id: str) -> list[AppointmentRow]:
        return await self._appointments(
            appointments.c.clinic_id == clinic_id,
            appointments.c.slot_id == slot_id,
            appointments.c.state.in_(ACTIVE_STATES),
        )

    async def confirmed_latest_first(
        self, clinic_id: str, vaccine: str
    ) -> list[AppointmentRow]:
        """CONFIRMED appointments for the vaccine at the clinic, the latest
        booked first."""
        return await self._appointments(
            appointments.c.clinic_id == clinic_id,
            appointments.c.vaccine == vaccine,
            appointments.c.state == "CONFIRMED",
            order_by=(appointments.c.create_time.desc(), appointments.c.id.desc()),
        )

    async def cancelled_without_offer(
        self, reason: str, clinic_id: str, *, slot_id: str = "", vaccine: str = ""
    ) -> list[AppointmentRow]:
        """Appointments the clinic cancelled for ``reason`` whose citizens have
        no offer yet: none was free then, or the call stopped before one was
        made."""
        conditions = [
            appointments.c.clinic_id == clinic_id,
            appointments.c.state == "CLINIC_CANCELLED",
            appointments.c.end_reason == reason,
            appointments.c.rebooking_offered.is_(False),
        ]
        if slot_id:
            conditions.append(appointments.c.slot_id == slot_id)
        if vaccine:
            conditions.append(appointments.c.vaccine == vaccine)
        return await self._appointments(*conditions)

    async def _appointments(self, *conditions, order_by=()) -> list[AppointmentRow]:
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments).where(*conditions).order_by(*order_by)
            )
            return [AppointmentRow(*row) for row in rows]

    async def add(self, offer: OfferRow, cancelled: AppointmentRow) -> OfferRow:
        """Records an offer with its event; an offer already made for the
        appointment is returned instead."""
        async with self.engine.begin() as conn:
            inserted = await conn.scalar(
                insert(rebooking_offers)
                .values(**offer.__dict__)
                .on_conflict_do_nothing()
                .returning(rebooking_offers.c.appointment_id)
            )
            if inserted is None:
                return await self._get(conn, offer.appointment_id)
            await conn.execute(
                update(appointments)
                .where(appointments.c.id == cancelled.id)
                .values(rebooking_offered=True)
            )
            await write_events(
                conn, outbox, [self.events.offered(offer, cancelled)], offer.create_time
            )
        return offer

    async def get(self, appointment_id: str) -> OfferRow | None:
        async with self.single.connect() as conn:
            return await self._get(conn, appointment_id)

    async def _get(self, conn, appointment_id: str) -> OfferRow | None:
        row = (
            await conn.execute(
                select(rebooking_offers).where(
                    rebooking_offers.c.appointment_id == appointment_id
                )
            )
        ).first()
        return OfferRow(*row) if row else None

    async def accept(
        self, offer: OfferRow, new: AppointmentRow, cancelled: AppointmentRow
    ) -> OfferRow | None:
        """Marks an open, unexpired offer ACCEPTED and records its new
        appointment, with both events; ``None`` when the offer was no longer
        open. Raises ``AlreadyBooked`` when the citizen holds another active
        appointment for the dose."""
        try:
            async with self.engine.begin() as conn:
                accepted = await self._close(
                    conn, offer, "ACCEPTED", new.create_time, release_pending=False
                )
                if accepted is None:
                    return None
                await conn.execute(insert(appointments).values(**new.__dict__))
                events = [
                    self.events.offer_closed(accepted, cancelled),
                    self.events.reserved(new),
                ]
                await write_events(conn, outbox, events, new.create_time)
        except IntegrityError:
            raise AlreadyBooked from None
        return accepted

    async def close(
        self, offer: OfferRow, state: str, now: datetime, cancelled: AppointmentRow
    ) -> OfferRow | None:
        """Ends an open offer as DECLINED or LAPSED, owing the release of its
        hold, with its event; ``None`` when it was no longer open."""
        async with self.engine.begin() as conn:
            closed = await self._close(conn, offer, state, now, release_pending=True)
            if closed is not None:
                events = [self.events.offer_closed(closed, cancelled)]
                await write_events(conn, outbox, events, now)
        return closed

    async def _close(
        self, conn, offer: OfferRow, state: str, now: datetime, release_pending: bool
    ) -> OfferRow | None:
        still_open = [
            rebooking_offers.c.appointment_id == offer.appointment_id,
            rebooking_offers.c.state == "OPEN",
        ]
        if state == "ACCEPTED":
            still_open.append(rebooking_offers.c.expires_at > now)
        row = (
            await conn.execute(
                update(rebooking_offers)
                .where(*still_open)
                .values(state=state, update_time=now, release_pending=release_pending)
                .returning(*rebooking_offers.c)
            )
        ).first()
        return OfferRow(*row) if row else None

    async def release_done(self, appointment_id: str) -> None:
        async with self.single.connect() as conn:
            await conn.execute(
                update(rebooking_offers)
                .where(rebooking_offers.c.appointment_id == appointment_id)
                .values(release_pending=False)
            )

    async def due(self, now: datetime, limit: int) -> list[OfferRow]:
        """Open offers that have run out, and closed ones owing a release."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(rebooking_offers)
                .where(
                    or_(
                        and_(
                            rebooking_offers.c.state == "OPEN",
                            rebooking_offers.c.expires_at <= now,
                        ),
                        rebooking_offers.c.release_pending.is_(True),
                    )
                )
                .order_by(rebooking_offers.c.expires_at)
                .limit(limit)
            )
            return [OfferRow(*row) for row in rows]
