"""Clinic cancellations and the priority rebooking offers that follow them.

When a clinic cancels a slot, or runs short of doses, each appointment it
cannot keep becomes CLINIC_CANCELLED and gives its seat and dose back; then
its citizen is offered a seat on the nearest open slot in the same region
with the same vaccine, held for them alone (an inventory hold whose id is the
appointment accepting would create). Accepting confirms that appointment;
declining, or letting the offer lapse, releases the hold to the public.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.appointment.booking import Booking, Guard, anyone
from services.appointment.errors import AppointmentError
from services.appointment.events import offer_name
from services.appointment.offer_store import AlreadyBooked, OfferStore
from services.appointment.rows import AppointmentRow, OfferRow
from services.appointment.slots import SlotDirectory, SlotInfo
from services.common import logs
from services.common.errors import DomainError, NotFound
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import HOLD, SLOT, Person

log = logging.getLogger(__name__)

# The id of the appointment an offer would create, and of the offer's hold,
# derives from the cancelled appointment's id in this namespace.
OFFER_IDS = uuid.UUID("0c7d1a52-3e2b-4f7a-9d64-8a1f5e2b9c30")
# Inventory keeps no hold longer than a week.
MAX_OFFER_SECONDS = 7 * 24 * 3600
# An offer shorter than this is not worth a citizen's attention.
MIN_OFFER_SECONDS = 60
MAX_OFFER_TRIES = 20
LAPSE_BATCH = 200
# Holds an offer may find taken on its way.
_SEAT_GONE = {"SLOT_FULL", "OUT_OF_DOSES", "SLOT_CLOSED"}

SENTENCES = {
    "SLOT_CANCELLED": "The clinic cancelled this slot: {note}",
    "DOSE_SHORTFALL": "The clinic no longer has a dose for this appointment: {note}",
}


class Rebooking:
    def __init__(
        self,
        booking: Booking,
        offers: OfferStore,
        slots: SlotDirectory,
        window_days: int,
        offer_seconds: int,
    ) -> None:
        self.booking = booking
        self.offers = offers
        self.slots = slots
        self.clock = booking.clock
        self.window = timedelta(days=window_days)
        self.offer_seconds = min(offer_seconds, MAX_OFFER_SECONDS)

    # Cancellations

    async def cancel_slot(
        self, clinic_id: str, slot_id: str, note: str, validate_only: bool = False
    ) -> tuple[list[str], int]:
        """Cancels every live appointment in the slot and offers each citizen
        a seat elsewhere; returns the ids cancelled and the offers made."""
        live = await self.offers.live_in_slot(clinic_id, slot_id)
        if validate_only:
            return [row.id for row in live], 0
        cancelled = await self._cancel_all(live, "SLOT_CANCELLED", note)
        owed = await self.offers.cancelled_without_offer(
            "SLOT_CANCELLED", clinic_id, slot_id=slot_id
        )
        return cancelled, await self._offer_all(owed)

    async def cancel_for_shortfall(
        self, clinic_id: str, vaccine: str, doses: int, note: str
    ) -> tuple[list[str], int]:
        """Cancels the latest-booked confirmed appointments for the vaccine at
        the clinic until no more than ``doses`` remain, with offers."""
        confirmed = await self.offers.confirmed_latest_first(clinic_id, vaccine)
        excess = confirmed[: max(0, len(confirmed) - doses)]
        cancelled = await self._cancel_all(excess, "DOSE_SHORTFALL", note)
        owed = await self.offers.cancelled_without_offer(
            "DOSE_SHORTFALL", clinic_id, vaccine=vaccine
        )
        return cancelled, await self._offer_all(owed)

    async def _cancel_all(
        self, rows: list[AppointmentRow], reason: str, note: str
    ) -> list[str]:
        cancelled = []
        for row in rows:
            logs.bind(appointment_id=row.id)
            sentence = {
                "code": reason,
                "message": SENTENCES[reason].format(note=note),
                "note": note,
            }
            try:
                ended = await self.booking.end_with(
                    row, "CLINIC_CANCELLED", reason, reasons=[*row.reasons, sentence]
                )
            except DomainError as error:
                # Ended, with its release owed: the repair job pays it.
                log.warning("release for %s deferred: %s", row.id, error.reason)
                ended = row
            if ended is not None:
                cancelled.append(row.id)
                log.info("appointment cancelled by the clinic")
        return cancelled

    # Offers

    async def _offer_all(self, rows: list[AppointmentRow]) -> int:
        """Offers seats in booking order, so the earliest booked choose first."""
        made = 0
        for row in sorted(rows, key=lambda row: (row.create_time, row.id)):
            logs.bind(appointment_id=row.id)
            if await self._offer(row) is not None:
                made += 1
        return made

    async def _offer(self, cancelled: AppointmentRow) -> OfferRow | None:
        """Holds the nearest suitable seat for the citizen and records the
        offer; ``None`` when no seat is free within the window."""
        now = self.clock.now()
        origin = SLOT.format(clinic=cancelled.clinic_id, slot=cancelled.slot_id)
        for candidate in await self._candidates(cancelled, origin, now):
            expires_at = min(
                now + timedelta(seconds=self.offer_seconds), candidate.start_time
            )
            ttl_seconds = int((expires_at - now).total_seconds())
            if ttl_seconds < MIN_OFFER_SECONDS:
                continue
            try:
                hold = await self.booking.holds.create(
                    inv.CreateHoldRequest(
                        slot=candidate.name,
                        vaccine=cancelled.vaccine,
                        hold_id=_new_id(cancelled),
                        ttl_seconds=ttl_seconds,
                        request_id=f"offer-{cancelled.id}",
                    )
                )
            except DomainError as refusal:
                if refusal.reason in _SEAT_GONE:
                    continue
                raise
            offer = await self._record(cancelled, hold, now)
            log.info("rebooking offered")
            return offer
        log.info("no seat to offer within the rebooking window")
        return None

    async def _candidates(
        self, cancelled: AppointmentRow, origin: str, now: datetime
    ) -> list[SlotInfo]:
        """Open slots of the same region and vaccine, nearest in time first."""
        region = (await self.slots.get(origin, DEFAULT_TIMEOUT_SECONDS)).region
        start_from = max(now, cancelled.slot_start - self.window)
        start_before = cancelled.slot_start + self.window
        if start_from >= start_before:
            return []
        found = await self.slots.candidates(
            region,
            cancelled.vaccine,
            (start_from, start_before),
            DEFAULT_TIMEOUT_SECONDS,
        )
        suitable = [
            slot for slot in found if slot.name != origin and not slot.cancelled
        ]
        suitable.sort(key=lambda slot: abs(slot.start_time - cancelled.slot_start))
        return suitable[:MAX_OFFER_TRIES]

    async def _record(
        self, cancelled: AppointmentRow, hold: inv.Hold, now: datetime
    ) -> OfferRow:
        # A retried offer gets back the hold taken the first time, which may
        # be on another slot than this pass's first choice.
        slot = await self.slots.get(hold.slot, DEFAULT_TIMEOUT_SECONDS)
        ids = SLOT.parse(hold.slot)
        offer = OfferRow(
            appointment_id=cancelled.id,
            new_appointment_id=_new_id(cancelled),
            citizen_id=cancelled.citizen_id,
            clinic_id=ids["clinic"],
            slot_id=ids["slot"],
            vaccine=cancelled.vaccine,
            dose_number=cancelled.dose_number,
            slot_start=slot.start_time,
            slot_end=slot.end_time,
            rules_version=cancelled.rules_version,
            state="OPEN",
            expires_at=hold.expire_time.ToDatetime(tzinfo=UTC),
            create_time=now,
            update_time=now,
        )
        return await self.offers.add(offer, cancelled)

    async def get_offer(self, appointment_id: str, guard: Guard = anyone) -> OfferRow:
        offer, _ = await self._offer_for(appointment_id, guard)
        return offer.as_seen_at(self.clock.now())

    async def accept(self, appointment_id: str, guard: Guard = anyone) -> OfferRow:
        """Turns the offer into a CONFIRMED appointment on the offered slot;
        the cancelled booking's eligibility verdict carries over."""
        offer, cancelled = await self._offer_for(appointment_id, guard)
        now = self.clock.now()
        seen = offer.as_seen_at(now)
        if seen.state == "ACCEPTED":
            return seen
        if seen.state != "OPEN":
            raise AppointmentError.offer_closed(
                offer_name(offer.appointment_id), seen.state
            )
        new = _accepting(offer, now)
        try:
            accepted = await self.offers.accept(offer, new, cancelled)
        except AlreadyBooked:
            person = Person.from_key(offer.citizen_id)
            raise AppointmentError.already_booked(
                person.name, offer.dose_number
            ) from None
        if accepted is None:
            return await self._settled(appointment_id, "ACCEPTED")
        log.info("rebooking offer accepted")
        await self.booking.finish_confirm(new, DEFAULT_TIMEOUT_SECONDS)
        return accepted

    async def decline(self, appointment_id: str, guard: Guard = anyone) -> OfferRow:
        """Ends the offer; its seat goes back to the public at once."""
        offer, cancelled = await self._offer_for(appointment_id, guard)
        seen = offer.as_seen_at(self.clock.now())
        if seen.state == "DECLINED":
            return seen
        if seen.state != "OPEN":
            raise AppointmentError.offer_closed(
                offer_name(offer.appointment_id), seen.state
            )
        closed = await self.offers.close(offer, "DECLINED", self.clock.now(), cancelled)
        if closed is None:
            return await self._settled(appointment_id, "DECLINED")
        log.info("rebooking offer declined")
        await self._release(closed)
        return closed

    async def lapse_due(self) -> int:
        """The job: ends offers that ran out and pays owed releases. Safe on
        several replicas: the guarded change lets one of them close each."""
        now = self.clock.now()
        due = await self.offers.due(now, LAPSE_BATCH)
        for offer in due:
            logs.bind(appointment_id=offer.appointment_id)
            try:
                if offer.state == "OPEN":
                    cancelled = await self.booking.get(offer.appointment_id)
                    offer = await self.offers.close(offer, "LAPSED", now, cancelled)
                    if offer is None:
                        continue
                    log.info("rebooking offer lapsed")
                await self._release(offer)
            except DomainError as error:
                log.warning("offer release deferred: %s", error.reason)
        return len(due)

    async def _release(self, offer: OfferRow) -> None:
        async with upstream("inventory"):
            await self.booking.inventory.ReleaseHold(
                inv.ReleaseHoldRequest(
                    name=HOLD.format(
                        clinic=offer.clinic_id, hold=offer.new_appointment_id
                    ),
                    request_id=f"release-{offer.new_appointment_id}",
                ),
                timeout=DEFAULT_TIMEOUT_SECONDS,
            )
        await self.offers.release_done(offer.appointment_id)

    async def _offer_for(
        self, appointment_id: str, guard: Guard
    ) -> tuple[OfferRow, AppointmentRow]:
        cancelled = await self.booking.get(appointment_id, guard)
        offer = await self.offers.get(appointment_id)
        if offer is None:
            raise NotFound("rebooking offer", offer_name(appointment_id))
        return offer, cancelled

    async def _settled(self, appointment_id: str, wanted: str) -> OfferRow:
        """After losing a race, the offer as the winner left it."""
        offer = await self.offers.get(appointment_id)
        seen = offer.as_seen_at(self.clock.now())
        if seen.state == wanted:
            return seen
        raise AppointmentError.offer_closed(offer_name(appointment_id), seen.state)


def _new_id(cancelled: AppointmentRow) -> str:
    return uuid.uuid5(OFFER_IDS, cancelled.id).hex


def _accepting(offer: OfferRow, now: datetime) -> AppointmentRow:
    """The appointment accepting ``offer`` makes: its hold is the offer's, so
    it is recorded as already confirming."""
    return AppointmentRow(
        id=offer.new_appointment_id,
        citizen_id=offer.citizen_id,
        clinic_id=offer.clinic_id,
        slot_id=offer.slot_id,
        vaccine=offer.vaccine,
        dose_number=offer.dose_number,
        state="PENDING",
        reserve_request_id=f"rebooking-{offer.appointment_id}",
        hold_expires_at=offer.expires_at,
        slot_start=offer.slot_start,
        slot_end=offer.slot_end,
        confirm_requested=True,
        release_pending=False,
        end_reason="",
        create_time=now,
        update_time=now,
        eligibility="PASSED",
        rules_version=offer.rules_version,
    )
