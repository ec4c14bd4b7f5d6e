"""The booking saga: reserve, confirm, cancel, and the repair of interrupted steps.

Each step is idempotent. An appointment records what it still owes
(``confirm_requested``, ``release_pending``) before calling inventory, so a
crash between the two is finished or compensated by the repair job.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment.eligibility import EligibilityGate, Verdict
from services.appointment.errors import AppointmentError
from services.appointment.holds import HoldBatches
from services.appointment.rows import AppointmentRow
from services.appointment.slots import SlotDirectory, SlotInfo
from services.appointment.store import AppointmentStore, ClinicDay
from services.appointment.verification import (
    CHECK_LEASE_SECONDS,
    Verification,
    pending_error,
)
from services.common import logs
from services.common.clock import Clock, to_timestamp
from services.common.errors import DomainError, NotFound, Unavailable
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import HOLD, SLOT, Person

log = logging.getLogger(__name__)

# Inventory refusals at commit that end a PENDING appointment.
COMMIT_REFUSALS = {"HOLD_EXPIRED", "SLOT_FULL", "OUT_OF_DOSES"}
REPAIR_BATCH = 200
# Appointment ids are derived from reservation request ids in this namespace.
APPOINTMENT_IDS = uuid.UUID("5b0e6f1c-8f43-4d0a-9a53-2f6d3c1b7e21")


# Checks that the caller may act on an appointment; raises when not.
Guard = Callable[[AppointmentRow], None]


def anyone(row: AppointmentRow) -> None:
    """The guard of internal callers, who may act on any appointment."""


@dataclass(frozen=True)
class ReserveRequest:
    person: Person
    slot_name: str
    vaccine: str
    dose_number: int
    request_id: str


class Booking:
    def __init__(
        self,
        store: AppointmentStore,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        slots: SlotDirectory,
        eligibility: EligibilityGate,
        clock: Clock,
        hold_ttl_seconds: int,
        eligibility_max_wait_seconds: int,
        no_show_grace_seconds: int = 3600,
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.holds = HoldBatches(inventory)
        self.slots = slots
        self.clock = clock
        self.hold_ttl_seconds = hold_ttl_seconds
        self.no_show_grace_seconds = no_show_grace_seconds
        self.verification = Verification(
            store,
            eligibility,
            inventory,
            clock,
            hold_ttl_seconds,
            eligibility_max_wait_seconds,
            end=self.end_with,
        )

    async def reserve(
        self, request: ReserveRequest, call_timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> AppointmentRow:
        """Records a PENDING appointment, holds its seat and dose, and judges
        its eligibility while the hold is taken.

        The row comes first, so the database's unique keys decide before any
        hold is taken whether this is a retry (the same appointment comes
        back) or a second booking of the dose (``ALREADY_BOOKED``). The
        appointment id derives from the request id, and inventory holds are
        idempotent by that id, so a retried reservation asks again for the
        same hold and never takes a second one. A refused hold ends the
        appointment as EXPIRED with the refusal as its reason; a refused
        eligibility ends it REJECTED with every reason, returned, not raised.
        """
        now = self.clock.now()
        slot = await self.bookable_slot(
            request.slot_name, request.vaccine, now, call_timeout
        )
        row = self._new_row(request, slot, now)
        existing = await self._insert_or_existing(row, request, now)
        if existing is not None:
            if existing.state != "PENDING" or existing.confirm_requested:
                return existing
            row = existing

        logs.bind(appointment_id=row.id)
        # Eligibility runs beside the hold rather than after it, so a plainly
        # eligible citizen waits for the slower of the two, not for both.
        refusal, verdict = await asyncio.gather(
            self._take_hold(request, row), self._first_verdict(row)
        )
        if refusal is not None:
            if refusal.code is grpc.StatusCode.UNAVAILABLE:
                # The hold may or may not exist: the appointment stays PENDING,
                # a retry asks for the same hold, and otherwise it runs out.
                raise refusal
            await self.store.transition(
                row.id,
                ("PENDING",),
                state="EXPIRED",
                end_reason=refusal.reason,
                update_time=now,
            )
            raise refusal
        if existing is None:
            log.info("appointment reserved")
        if verdict is None:
            return row
        return await self.verification.apply(row, verdict)

    async def _take_hold(
        self, request: ReserveRequest, row: AppointmentRow
    ) -> DomainError | None:
        """Holds the seat and dose; the refusal, if inventory refused."""
        try:
            await self.holds.create(
                inv.CreateHoldRequest(
                    slot=request.slot_name,
                    vaccine=request.vaccine,
                    hold_id=row.id,
                    ttl_seconds=self.hold_ttl_seconds,
                    request_id=request.request_id,
                )
            )
        except DomainError as refusal:
            return refusal
        return None

    async def _first_verdict(self, row: AppointmentRow) -> Verdict | None:
        """Eligibility's verdict, unless an earlier attempt already has one."""
        if row.eligibility != "CHECKING":
            return None
        return await self.verification.check(row)

    async def bookable_slot(
        self, slot_name: str, vaccine: str, now: datetime, call_timeout: float
    ) -> SlotInfo:
        """The slot, if it gives ``vaccine`` and is still open to bookings."""
        slot = await self.slots.get(slot_name, call_timeout)
        if vaccine not in slot.vaccines:
            raise AppointmentError.vaccine_not_offered(slot_name, vaccine)
        if slot.end_time <= now:
            raise AppointmentError.slot_over(slot_name)
        if slot.cancelled:
            raise AppointmentError.slot_cancelled(slot_name)
        return slot

    def _new_row(
        self, request: ReserveRequest, slot: SlotInfo, now: datetime
    ) -> AppointmentRow:
        slot_ids = SLOT.parse(request.slot_name)
        # Inventory starts the hold's clock a moment later, so the hold never
        # runs out before the appointment says it does.
        return AppointmentRow(
            id=uuid.uuid5(APPOINTMENT_IDS, request.request_id).hex,
            citizen_id=request.person.key,
            clinic_id=slot_ids["clinic"],
            slot_id=slot_ids["slot"],
            vaccine=request.vaccine,
            dose_number=request.dose_number,
            state="PENDING",
            reserve_request_id=request.request_id,
            hold_expires_at=now + timedelta(seconds=self.hold_ttl_seconds),
            slot_start=slot.start_time,
            slot_end=slot.end_time,
            confirm_requested=False,
            release_pending=False,
            end_reason="",
            create_time=now,
            update_time=now,
            eligibility="CHECKING",
            # Should this reservation stop before eligibility answers, the
            # retry queue asks again after this long.
            next_check_at=now + timedelta(seconds=CHECK_LEASE_SECONDS),
        )

    async def _insert_or_existing(
        self, row: AppointmentRow, request: ReserveRequest, now: datetime
    ) -> AppointmentRow | None:
        """Inserts the row; ``None`` when inserted, else the appointment this
        request repeats. Raises when the citizen's dose is already booked."""
        for _ in range(2):
            if await self.store.insert(row):
                return None
            existing = await self._clash(request, now)
            if existing is not None:
                return existing
            # What blocked the insert has run out or gone: record run-out
            # holds as EXPIRED, then try once more.
            await self.store.expire_stale(request.person.key, request.dose_number, now)
        raise Unavailable("BOOKING_CONTENDED", "the booking clashed twice; retry")

    async def _clash(
        self, request: ReserveRequest, now: datetime
    ) -> AppointmentRow | None:
        """The appointment this request repeats; raises if the citizen already
        has another active one for the dose."""
        existing = await self.store.find_for_reserve(
            request.request_id, request.person.key, request.dose_number, now
        )
        if existing is None:
            return None
        if existing.reserve_request_id != request.request_id:
            raise AppointmentError.already_booked(
                request.person.name, request.dose_number
            )
        same = (
            existing.citizen_id == request.person.key
            and SLOT.format(clinic=existing.clinic_id, slot=existing.slot_id)
            == request.slot_name
            and existing.vaccine == request.vaccine
            and existing.dose_number == request.dose_number
        )
        if not same:
            raise AppointmentError.request_id_reused(request.request_id)
        return existing.as_seen_at(now)

    async def confirm(
        self,
        appointment_id: str,
        call_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        guard: Guard = anyone,
    ) -> AppointmentRow:
        """Commits the hold and marks the appointment CONFIRMED, once
        eligibility has passed or allowed it provisionally."""
        logs.bind(appointment_id=appointment_id)
        row = await self._get(appointment_id)
        guard(row)
        now = self.clock.now()
        if row.state == "CONFIRMED":
            return row
        seen = row.as_seen_at(now)
        if seen.state == "EXPIRED":
            await self._end(
                row, "EXPIRED", seen.end_reason or "HOLD_EXPIRED", call_timeout
            )
            raise AppointmentError.hold_expired(_name(row))
        if row.state != "PENDING":
            raise AppointmentError.wrong_state(_name(row), row.state, "confirm")
        if row.eligibility in ("CHECKING", "RETRYING"):
            raise pending_error(row)
        marked = await self.store.mark_confirming(row.id)
        if marked is None:
            return await self._settled(appointment_id, "confirm")
        return await self.finish_confirm(marked, call_timeout)

    async def finish_confirm(
        self, row: AppointmentRow, call_timeout: float
    ) -> AppointmentRow:
        try:
            await self.holds.commit(
                inv.CommitHoldRequest(
                    name=_hold_name(row),
                    slot=SLOT.format(clinic=row.clinic_id, slot=row.slot_id),
                    vaccine=row.vaccine,
                    expire_time=to_timestamp(row.hold_expires_at),
                    request_id=f"confirm-{row.id}",
                )
            )
        except DomainError as refusal:
            if refusal.reason in COMMIT_REFUSALS:
                await self._end(row, "EXPIRED", refusal.reason, call_timeout)
                if refusal.reason == "HOLD_EXPIRED":
                    raise AppointmentError.hold_expired(_name(row)) from None
            raise
        confirmed = await self.store.confirm(row.id, self.clock.now())
        if confirmed is None:
            return await self._settled(row.id, "confirm")
        log.info("appointment confirmed")
        return confirmed

    async def cancel(
        self,
        appointment_id: str,
        call_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        guard: Guard = anyone,
    ) -> AppointmentRow:
        """Cancels a PENDING or CONFIRMED appointment; seat and dose go back."""
        logs.bind(appointment_id=appointment_id)
        row = await self._get(appointment_id)
        guard(row)
        if row.state == "CANCELLED":
            return row
        seen = row.as_seen_at(self.clock.now())
        if seen.state not in ("PENDING", "CONFIRMED"):
            raise AppointmentError.wrong_state(_name(row), seen.state, "cancel")
        cancelled = await self._end(
            row, "CANCELLED", "CANCELLED_BY_CITIZEN", call_timeout
        )
        if cancelled is None:
            return await self._settled(appointment_id, "cancel")
        log.info("appointment cancelled")
        return cancelled

    async def get(self, appointment_id: str, guard: Guard = anyone) -> AppointmentRow:
        row = await self._get(appointment_id)
        guard(row)
        return row.as_seen_at(self.clock.now())

    async def list_for_citizen(
        self, citizen_id: str, offset: int, limit: int
    ) -> list[AppointmentRow]:
        now = self.clock.now()
        rows = await self.store.list_for_citizen(citizen_id, offset, limit)
        return [row.as_seen_at(now) for row in rows]

    async def list_for_clinic(self, day: ClinicDay) -> list[AppointmentRow]:
        now = self.clock.now()
        return [row.as_seen_at(now) for row in await self.store.list_for_clinic(day)]

    async def repair(self) -> int:
        """Finishes interrupted confirms, records run-out holds as EXPIRED,
        pays owed releases and opens owed review cases. Safe to run on several
        replicas at once."""
        now = self.clock.now()
        await self.verification.open_owed_reviews()
        rows = await self.store.needing_repair(now, REPAIR_BATCH)
        for row in rows:
            try:
                await self._repair_one(row, now)
            except DomainError as error:
                log.warning("repair of %s deferred: %s", row.id, error.reason)
        return len(rows)

    async def sweep_no_shows(self) -> int:
        """Marks NO_SHOW the CONFIRMED appointments whose slot ended more than
        the grace period ago, giving their seat and dose back. Safe to run on
        several replicas at once: the guarded change lets one of them win."""
        cutoff = self.clock.now() - timedelta(seconds=self.no_show_grace_seconds)
        swept = 0
        for row in await self.store.no_shows_due(cutoff, REPAIR_BATCH):
            logs.bind(appointment_id=row.id)
            try:
                ended = await self._end(
                    row, "NO_SHOW", "NO_SHOW", DEFAULT_TIMEOUT_SECONDS
                )
            except DomainError as error:
                # The release is owed and the repair job pays it.
                log.warning("no-show of %s: release deferred: %s", row.id, error.reason)
                continue
            if ended is not None:
                swept += 1
                log.info("appointment marked no-show")
        return swept

    async def _repair_one(self, row: AppointmentRow, now: datetime) -> None:
        if row.state == "PENDING" and row.confirm_requested:
            # A refused commit has already ended the appointment as EXPIRED.
            with suppress(AppointmentError):
                await self.finish_confirm(row, DEFAULT_TIMEOUT_SECONDS)
        elif row.state == "PENDING":
            await self._end(row, "EXPIRED", "HOLD_EXPIRED", DEFAULT_TIMEOUT_SECONDS)
        elif row.release_pending:
            await self._release(row, DEFAULT_TIMEOUT_SECONDS)
            await self.store.release_done(row.id)

    async def _end(
        self, row: AppointmentRow, state: str, reason: str, call_timeout: float
    ) -> AppointmentRow | None:
        return await self.end_with(row, state, reason, call_timeout=call_timeout)

    async def end_with(
        self,
        row: AppointmentRow,
        state: str,
        reason: str,
        call_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        **values,
    ) -> AppointmentRow | None:
        """Ends a live appointment, recording ``values`` with the change, and
        gives its hold back; ``None`` when it was no longer live."""
        ended = await self.store.transition(
            row.id,
            ("PENDING", "CONFIRMED"),
            was_confirmed=row.state == "CONFIRMED",
            state=state,
            end_reason=reason,
            release_pending=True,
            update_time=self.clock.now(),
            **values,
        )
        if ended is None:
            return None
        await self._release(ended, call_timeout)
        await self.store.release_done(ended.id)
        return ended

    async def _release(self, row: AppointmentRow, call_timeout: float) -> None:
        async with upstream("inventory"):
            await self.inventory.ReleaseHold(
                inv.ReleaseHoldRequest(
                    name=_hold_name(row), request_id=f"release-{row.id}"
                ),
                timeout=call_timeout,
            )

    async def _get(self, appointment_id: str) -> AppointmentRow:
        row = await self.store.get(appointment_id)
        if row is None:
            raise NotFound("appointment", f"appointments/{appointment_id}")
        return row

    async def _settled(self, appointment_id: str, action: str) -> AppointmentRow:
        """After losing a race, the appointment as the winner left it."""
        row = await self._get(appointment_id)
        wanted = "CONFIRMED" if action == "confirm" else "CANCELLED"
        if row.state == wanted:
            return row
        if row.end_reason == "HOLD_EXPIRED":
            raise AppointmentError.hold_expired(_name(row))
        raise AppointmentError.wrong_state(_name(row), row.state, action)


def _name(row: AppointmentRow) -> str:
    return f"appointments/{row.id}"


def _hold_name(row: AppointmentRow) -> str:
    return HOLD.format(clinic=row.clinic_id, hold=row.id)
