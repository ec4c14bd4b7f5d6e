"""gRPC transport of the appointment service."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2 as pb
from vaxbook.appointment.v1 import appointment_pb2_grpc

from services.appointment.booking import Booking, ReserveRequest
from services.appointment.rows import AppointmentRow
from services.common import paging
from services.common.clock import to_timestamp
from services.common.grpc_clients import timeout
from services.common.names import APPOINTMENT, CITIZEN, SLOT
from services.common.validation import checking

MAX_DOSE_NUMBER = 10
VACCINE_MAX_LENGTH = 64


class AppointmentServicer(appointment_pb2_grpc.AppointmentServiceServicer):
    def __init__(self, booking: Booking) -> None:
        self.booking = booking

    async def ReserveAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            citizen = check.name("citizen", request.citizen, CITIZEN)
            check.name("slot", request.slot, SLOT)
            check.text("vaccine", request.vaccine, VACCINE_MAX_LENGTH)
            check.between("dose_number", request.dose_number, 1, MAX_DOSE_NUMBER)
            check.request_id(request.request_id)
        row = await self.booking.reserve(
            ReserveRequest(
                citizen_id=citizen["citizen"],
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
        row = await self.booking.confirm(ids["appointment"], timeout(context))
        return _appointment(row)

    async def CancelAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.request_id(request.request_id)
        row = await self.booking.cancel(ids["appointment"], timeout(context))
        return _appointment(row)

    async def GetAppointment(self, request, context) -> pb.Appointment:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
        return _appointment(await self.booking.get(ids["appointment"]))

    async def ListAppointments(self, request, context) -> pb.ListAppointmentsResponse:
        with checking() as check:
            ids = check.name("parent", request.parent, CITIZEN)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.booking.list_for_citizen(ids["citizen"], offset, size + 1)
        return pb.ListAppointmentsResponse(
            appointments=[_appointment(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )


def _appointment(row: AppointmentRow) -> pb.Appointment:
    return pb.Appointment(
        name=APPOINTMENT.format(appointment=row.id),
        citizen=CITIZEN.format(citizen=row.citizen_id),
        slot=SLOT.format(clinic=row.clinic_id, slot=row.slot_id),
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        state=pb.AppointmentState.Value(f"APPOINTMENT_STATE_{row.state}"),
        hold_expire_time=to_timestamp(row.hold_expires_at),
        slot_start_time=to_timestamp(row.slot_start),
        slot_end_time=to_timestamp(row.slot_end),
        create_time=to_timestamp(row.create_time),
        update_time=to_timestamp(row.update_time),
        end_reason=row.end_reason,
    )
