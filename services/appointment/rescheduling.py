"""Moving a CONFIRMED appointment to another slot.

The new seat and dose are held and committed first, under a hold whose id is
the new appointment's, derived from the request id; only then does one
transaction end the old appointment (CANCELLED, reason ``RESCHEDULED``, its
release owed) and record the new one CONFIRMED. Until that transaction the
old booking is untouched, so a refusal on the way changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.appointment.booking import Booking, Guard, anyone
from services.appointment.errors import AppointmentError
from services.appointment.rows import AppointmentRow
from services.appointment.slots import SlotInfo
from services.common import logs
from services.common.errors import DomainError
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import APPOINTMENT, HOLD, SLOT

log = logging.getLogger(__name__)

# The new appointment's id, and its hold's, derive from the request id here.
RESCHEDULE_IDS = uuid.UUID("9e3b6c0a-51d7-4c2e-8f1a-6b7d2e4c9a15")


@dataclass(frozen=True)
class RescheduleRequest:
    appointment_id: str
    slot_name: str
    request_id: str


class Rescheduling:
    def __init__(self, booking: Booking) -> None:
        self.booking = booking
        self.store = booking.store
        self.clock = booking.clock

    async def reschedule(
        self,
        request: RescheduleRequest,
        call_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        guard: Guard = anyone,
    ) -> AppointmentRow:
        """The new appointment, CONFIRMED on ``request.slot_name`` for the
        same person, vaccine and dose, with the old one's eligibility."""
        logs.bind(appointment_id=request.appointment_id)
        old = await self.booking.get(request.appointment_id, guard)
        new_id = uuid.uuid5(RESCHEDULE_IDS, request.request_id).hex
        done = await self.store.get(new_id)
        if done is not None:
            return self._repeated(done, old, request)
        if old.state != "CONFIRMED":
            raise AppointmentError.not_confirmed(_name(old), old.state)

        now = self.clock.now()
        slot = await self.booking.bookable_slot(
            request.slot_name, old.vaccine, now, call_timeout
        )
        if request.slot_name == SLOT.format(clinic=old.clinic_id, slot=old.slot_id):
            raise AppointmentError.same_slot(_name(old), request.slot_name)
        moved = _moved(old, new_id, slot, request, now)
        new = await self._commit_seat(
            replace(moved, qr_key_id=self.store.events.qr.active_key_id)
        )

        ended = await self.store.reschedule(old, new)
        if ended is None:
            return await self._lost_race(old, new, request)
        log.info("appointment rescheduled to %s", _name(new))
        await self._release_old(ended, call_timeout)
        return new

    async def _commit_seat(self, new: AppointmentRow) -> AppointmentRow:
        """Holds and commits the new seat and dose; the new row, with the
        hold's expiry. Raises inventory's refusal, giving back what it took."""
        slot_name = SLOT.format(clinic=new.clinic_id, slot=new.slot_id)
        hold = await self.booking.holds.create(
            inv.CreateHoldRequest(
                slot=slot_name,
                vaccine=new.vaccine,
                hold_id=new.id,
                ttl_seconds=self.booking.hold_ttl_seconds,
                request_id=new.reserve_request_id,
            )
        )
        try:
            await self.booking.holds.commit(
                inv.CommitHoldRequest(
                    name=_hold_name(new),
                    slot=slot_name,
                    vaccine=new.vaccine,
                    expire_time=hold.expire_time,
                    request_id=f"confirm-{new.id}",
                )
            )
        except DomainError:
            await self._give_back(new)
            raise
        return replace(new, hold_expires_at=hold.expire_time.ToDatetime(tzinfo=UTC))

    async def _lost_race(
        self, old: AppointmentRow, new: AppointmentRow, request: RescheduleRequest
    ) -> AppointmentRow:
        """The old appointment changed before the transaction: a retry of
        this request finished first, or another change ended it."""
        done = await self.store.get(new.id)
        if done is not None:
            return self._repeated(done, old, request)
        await self._give_back(new)
        current = await self.booking.get(old.id)
        raise AppointmentError.not_confirmed(_name(current), current.state)

    def _repeated(
        self, done: AppointmentRow, old: AppointmentRow, request: RescheduleRequest
    ) -> AppointmentRow:
        """The appointment an earlier call with this request id made; raises
        when that call moved another appointment or to another slot."""
        same = (
            done.reserve_request_id == _reserve_id(request)
            and (done.citizen_id, done.vaccine, done.dose_number)
            == (old.citizen_id, old.vaccine, old.dose_number)
            and SLOT.format(clinic=done.clinic_id, slot=done.slot_id)
            == request.slot_name
            and old.end_reason == "RESCHEDULED"
        )
        if not same:
            raise AppointmentError.request_id_reused(request.request_id)
        return done.as_seen_at(self.clock.now())

    async def _release_old(self, ended: AppointmentRow, call_timeout: float) -> None:
        """Gives the old seat and dose back; when inventory does not answer,
        the release stays owed and the repair job pays it."""
        try:
            await self._release(ended, call_timeout)
        except DomainError as error:
            log.warning("release of %s deferred: %s", ended.id, error.reason)
            return
        await self.store.release_done(ended.id)

    async def _give_back(self, new: AppointmentRow) -> None:
        """Releases the new seat and dose taken for a move that did not
        happen; no appointment records them, so a failure needs a person."""
        try:
            await self._release(new, DEFAULT_TIMEOUT_SECONDS)
        except DomainError as error:
            log.error(
                "hold %s of an unfinished reschedule not released: %s",
                _hold_name(new),
                error.reason,
            )

    async def _release(self, row: AppointmentRow, call_timeout: float) -> None:
        async with upstream("inventory"):
            await self.booking.inventory.ReleaseHold(
                inv.ReleaseHoldRequest(
                    name=_hold_name(row), request_id=f"release-{row.id}"
                ),
                timeout=call_timeout,
            )


def _moved(
    old: AppointmentRow,
    new_id: str,
    slot: SlotInfo,
    request: RescheduleRequest,
    now: datetime,
) -> AppointmentRow:
    """The new appointment: the old one's person, vaccine, dose and
    eligibility on ``slot``, CONFIRMED as of ``now``. A review still owed
    is opened afresh for it by the repair job."""
    ids = SLOT.parse(request.slot_name)
    return AppointmentRow(
        id=new_id,
        citizen_id=old.citizen_id,
        clinic_id=ids["clinic"],
        slot_id=ids["slot"],
        vaccine=old.vaccine,
        dose_number=old.dose_number,
        state="CONFIRMED",
        reserve_request_id=_reserve_id(request),
        hold_expires_at=now,
        slot_start=slot.start_time,
        slot_end=slot.end_time,
        confirm_requested=True,
        release_pending=False,
        end_reason="",
        create_time=now,
        update_time=now,
        eligibility=old.eligibility,
        reasons=old.reasons,
        rules_version=old.rules_version,
        review_required=old.review_required,
        review_opened=False,
        confirm_time=now,
    )


def _reserve_id(request: RescheduleRequest) -> str:
    return f"reschedule-{request.request_id}"


def _name(row: AppointmentRow) -> str:
    return APPOINTMENT.format(appointment=row.id)


def _hold_name(row: AppointmentRow) -> str:
    return HOLD.format(clinic=row.clinic_id, hold=row.id)
