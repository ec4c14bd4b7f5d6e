"""gRPC transport of the appointment service, and who may call each RPC."""

from __future__ import annotations

from datetime import datetime

from vaxbook.appointment.v1 import appointment_pb2 as pb
from vaxbook.appointment.v1 import appointment_pb2_grpc

from services.appointment.booking import Booking, ReserveRequest
from services.appointment.events import offer_name
from services.appointment.rebooking import Rebooking
from services.appointment.rescheduling import RescheduleRequest, Rescheduling
from services.appointment.rows import AppointmentRow, OfferRow
from services.appointment.store import ClinicDay
from services.common import paging
from services.common.auth import (
    AuthError,
    Role,
    current_principal,
    require_clinic,
    require_person,
)
from services.common.clock import to_timestamp
from services.common.grpc_clients import timeout
from services.common.names import (
    APPOINTMENT,
    CLINIC,
    SLOT,
    Person,
    Resource,
    check_person,
)
from services.common.validation import checking

MAX_DOSE_NUMBER = 10
VACCINE_MAX_LENGTH = 64
NOTE_MAX_LENGTH = 1000
MAX_DOSES = 10_000_000
CLINIC_PAGE_SIZE = 100
OFFER = Resource("appointments/{appointment}/rebookingOffer")

SERVICE = pb.DESCRIPTOR.services_by_name["AppointmentService"].full_name
_BOOKERS = {Role.CITIZEN, Role.SERVICE, Role.ADMIN}
_CLINIC_READERS = {Role.CLINIC_STAFF, Role.SERVICE, Role.ADMIN}
# Who may call each RPC; citizens act only for themselves and their
# dependants, clinic staff read only their clinics' appointments.
ACCESS_POLICY = {
    f"/{SERVICE}/ReserveAppointment": _BOOKERS,
    f"/{SERVICE}/ConfirmAppointment": _BOOKERS,
    f"/{SERVICE}/CancelAppointment": _BOOKERS,
    f"/{SERVICE}/RescheduleAppointment": _BOOKERS,
    f"/{SERVICE}/GetAppointment": _BOOKERS | {Role.CLINIC_STAFF},
    f"/{SERVICE}/ListAppointments": _BOOKERS,
    f"/{SERVICE}/ListClinicAppointments": _CLINIC_READERS,
    f"/{SERVICE}/ResolveReview": {Role.SERVICE},
    f"/{SERVICE}/CancelSlotAppointments": {Role.SERVICE},
    f"/{SERVICE}/CancelForDoseShortfall": {Role.SERVICE},
    f"/{SERVICE}/GetRebookingOffer": _BOOKERS,
    f"/{SERVICE}/AcceptRebookingOffer": _BOOKERS,
    f"/{SERVICE}/DeclineRebookingOffer": _BOOKERS,
}
_OFFER_STATES = {
    name: pb.RebookingOfferState.Value(f"REBOOKING_OFFER_STATE_{name}")
    for name in ("OPEN", "ACCEPTED", "DECLINED", "LAPSED")
}

_STATES = {
    name: pb.AppointmentState.Value(f"APPOINTMENT_STATE_{name}")
    for name in (
        "PENDING",
        "CONFIRMED",
        "CANCELLED",
        "EXPIRED",
        "REJECTED",
        "ADMINISTERED",
        "NO_SHOW",
        "CLINIC_CANCELLED",
    )
}
_ELIGIBILITY = {
    name: pb.EligibilityState.Value(f"ELIGIBILITY_STATE_{name}")
    for name in ("CHECKING", "PASSED", "PROVISIONAL", "RETRYING", "FAILED")
}


class AppointmentServicer(appointment_pb2_grpc.AppointmentServiceServicer):
    def __init__(self, booking: Booking, rebooking: Rebooking) -> None:
        self.booking = booking
        self.rebooking = rebooking
        self.rescheduling = Rescheduling(booking)

    async def ReserveAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            person = check_person(check, "citizen", request.citizen)
            check.name("slot", request.slot, SLOT)
            check.text("vaccine", request.vaccine, VACCINE_MAX_LENGTH)
            check.between("dose_number", request.dose_number, 1, MAX_DOSE_NUMBER)
            check.request_id(request.request_id)
        require_person(person.account, request.citizen)
        row = await self.booking.reserve(
            ReserveRequest(
                person=person,
                slot_name=request.slot,
                vaccine=request.vaccine,
                dose_number=request.dose_number,
                request_id=request.request_id,
            ),
            timeout(context),
        )
        return _appointment(row)

    async def ConfirmAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.request_id(request.request_id)
        row = await self.booking.confirm(
            ids["appointment"], timeout(context), guard=_booker_guard
        )
        return _appointment(row)

    async def CancelAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.request_id(request.request_id)
        row = await self.booking.cancel(
            ids["appointment"], timeout(context), guard=_booker_guard
        )
        return _appointment(row)

    async def RescheduleAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.name("slot", request.slot, SLOT)
            check.request_id(request.request_id)
        row = await self.rescheduling.reschedule(
            RescheduleRequest(
                appointment_id=ids["appointment"],
                slot_name=request.slot,
                request_id=request.request_id,
            ),
            timeout(context),
            guard=_booker_guard,
        )
        return _appointment(row)

    async def GetAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
        row = await self.booking.get(ids["appointment"], guard=_reader_guard)
        viewer = current_principal()
        if viewer.role is Role.CLINIC_STAFF:
            await self.booking.store.record_view(
                row, viewer, f"/{SERVICE}/GetAppointment", self.booking.clock.now()
            )
        return _appointment(row)

    async def ListAppointments(self, request, context) -> pb.ListAppointmentsResponse:
        with checking() as check:
            person = check_person(check, "parent", request.parent)
        require_person(person.account, request.parent)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.booking.list_for_citizen(person.key, offset, size + 1)
        return pb.ListAppointmentsResponse(
            appointments=[_appointment(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def ListClinicAppointments(
        self, request, context
    ) -> pb.ListClinicAppointmentsResponse:
        day = _clinic_day(request)
        principal = require_clinic(request.parent, request.parent)
        rows = await self.booking.list_for_clinic(day)
        listed = rows[: day.page_size]
        if principal.role is Role.CLINIC_STAFF:
            await self.booking.store.record_views(
                listed,
                principal,
                f"/{SERVICE}/ListClinicAppointments",
                self.booking.clock.now(),
            )
        return pb.ListClinicAppointmentsResponse(
            appointments=[_appointment(row) for row in listed],
            next_page_token=paging.next_token(day.offset, day.page_size, len(rows)),
        )

    async def ResolveReview(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.text("note", request.note, NOTE_MAX_LENGTH, required=False)
            check.request_id(request.request_id)
        row = await self.booking.verification.resolve_review(
            ids["appointment"], request.approved, request.note
        )
        return _appointment(row.as_seen_at(self.booking.clock.now()))

    async def CancelSlotAppointments(
        self, request, context
    ) -> pb.CancelAppointmentsResponse:
        with checking() as check:
            ids = check.name("slot", request.slot, SLOT)
            check.text("note", request.note, NOTE_MAX_LENGTH)
            check.request_id(request.request_id)
        cancelled, offers = await self.rebooking.cancel_slot(
            ids["clinic"], ids["slot"], request.note, request.validate_only
        )
        return _cancelled(cancelled, offers)

    async def CancelForDoseShortfall(
        self, request, context
    ) -> pb.CancelAppointmentsResponse:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            check.text("vaccine", request.vaccine, VACCINE_MAX_LENGTH)
            check.between("doses", request.doses, 0, MAX_DOSES)
            check.text("note", request.note, NOTE_MAX_LENGTH)
            check.request_id(request.request_id)
        cancelled, offers = await self.rebooking.cancel_for_shortfall(
            ids["clinic"], request.vaccine, request.doses, request.note
        )
        return _cancelled(cancelled, offers)

    async def GetRebookingOffer(self, request, context) -> pb.RebookingOffer:
        with checking() as check:
            ids = check.name("name", request.name, OFFER)
        offer = await self.rebooking.get_offer(ids["appointment"], _booker_guard)
        return _offer(offer)

    async def AcceptRebookingOffer(self, request, context) -> pb.RebookingOffer:
        with checking() as check:
            ids = check.name("name", request.name, OFFER)
            check.request_id(request.request_id)
        offer = await self.rebooking.accept(ids["appointment"], _booker_guard)
        return _offer(offer)

    async def DeclineRebookingOffer(self, request, context) -> pb.RebookingOffer:
        with checking() as check:
            ids = check.name("name", request.name, OFFER)
            check.request_id(request.request_id)
        offer = await self.rebooking.decline(ids["appointment"], _booker_guard)
        return _offer(offer)


def _cancelled(ids: list[str], offers: int) -> pb.CancelAppointmentsResponse:
    return pb.CancelAppointmentsResponse(
        appointments=[APPOINTMENT.format(appointment=i) for i in ids],
        rebooking_offers=offers,
    )


def _offer(offer: OfferRow) -> pb.RebookingOffer:
    message = pb.RebookingOffer(
        name=offer_name(offer.appointment_id),
        citizen=Person.from_key(offer.citizen_id).name,
        slot=SLOT.format(clinic=offer.clinic_id, slot=offer.slot_id),
        vaccine=offer.vaccine,
        dose_number=offer.dose_number,
        slot_start_time=to_timestamp(offer.slot_start),
        slot_end_time=to_timestamp(offer.slot_end),
        state=_OFFER_STATES[offer.state],
        expire_time=to_timestamp(offer.expires_at),
        create_time=to_timestamp(offer.create_time),
    )
    if offer.state == "ACCEPTED":
        message.new_appointment = APPOINTMENT.format(
            appointment=offer.new_appointment_id
        )
    return message


def _clinic_day(request: pb.ListClinicAppointmentsRequest) -> ClinicDay:
    """The listing a ``ListClinicAppointments`` request asks for."""
    with checking() as check:
        clinic = check.name("parent", request.parent, CLINIC).get("clinic")
        slot_id = None
        if request.slot:
            slot = check.name("slot", request.slot, SLOT)
            if clinic and slot and slot["clinic"] != clinic:
                check.fail("slot", f"must be a slot of {request.parent}")
            slot_id = slot.get("slot")
        start_from = _optional_time(check, request, "start_time_from")
        start_before = _optional_time(check, request, "start_time_before")
        if start_from and start_before and start_from >= start_before:
            check.fail("start_time_before", "must be after start_time_from")
    return ClinicDay(
        clinic_id=clinic,
        offset=paging.decode_offset(request.page_token),
        page_size=paging.page_size(request.page_size, CLINIC_PAGE_SIZE),
        slot_id=slot_id,
        start_from=start_from,
        start_before=start_before,
    )


def _optional_time(check, request, field: str) -> datetime | None:
    """The time in ``field``; ``None`` when it is unset."""
    if not request.HasField(field):
        return None
    return check.timestamp(field, getattr(request, field))


def _booker_guard(row: AppointmentRow) -> None:
    """Citizens change only their own and their dependants' appointments."""
    person = Person.from_key(row.citizen_id)
    require_person(person.account, APPOINTMENT.format(appointment=row.id))


def _reader_guard(row: AppointmentRow) -> None:
    """Clinic staff also read the appointments at their clinics."""
    principal = current_principal()
    if principal.role is Role.CLINIC_STAFF:
        if CLINIC.format(clinic=row.clinic_id) not in principal.clinics:
            raise AuthError.not_owner(
                principal.subject, APPOINTMENT.format(appointment=row.id)
            )
        return
    _booker_guard(row)


def _appointment(row: AppointmentRow) -> pb.Appointment:
    appointment = pb.Appointment(
        name=APPOINTMENT.format(appointment=row.id),
        citizen=Person.from_key(row.citizen_id).name,
        slot=SLOT.format(clinic=row.clinic_id, slot=row.slot_id),
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        state=_STATES[row.state],
        hold_expire_time=to_timestamp(row.hold_expires_at),
        slot_start_time=to_timestamp(row.slot_start),
        slot_end_time=to_timestamp(row.slot_end),
        create_time=to_timestamp(row.create_time),
        update_time=to_timestamp(row.update_time),
        end_reason=row.end_reason,
        eligibility=_ELIGIBILITY[row.eligibility],
        reasons=[
            pb.Reason(code=reason["code"], message=reason["message"])
            for reason in row.reasons
        ],
        review_required=row.review_required,
        rules_version=row.rules_version,
    )
    if row.rebooking_offered:
        appointment.rebooking_offer = offer_name(row.id)
    if row.state == "ADMINISTERED" and row.administer_time is not None:
        appointment.administration.CopyFrom(
            pb.Administration(
                batch=row.administer_batch or "",
                administer_time=to_timestamp(row.administer_time),
                vaccinator=row.vaccinator or "",
                device_id=row.administer_device or "",
            )
        )
    if row.next_check_at is not None and row.eligibility == "RETRYING":
        appointment.next_eligibility_check_time.CopyFrom(
            to_timestamp(row.next_check_at)
        )
    return appointment
