"""What the patient service asks other services about a person.

Calls go out with the patient service's own token and carry what is left of
the caller's deadline.
"""

from __future__ import annotations

import grpc
from vaxbook.appointment.v1 import appointment_pb2, appointment_pb2_grpc
from vaxbook.auth.v1 import auth_pb2, auth_pb2_grpc

from services.common import paging
from services.common.grpc_clients import timeout, upstream
from services.common.names import Person

# States in which an appointment lets the clinic's staff see the person.
BOOKED_STATES = frozenset(
    {
        appointment_pb2.APPOINTMENT_STATE_PENDING,
        appointment_pb2.APPOINTMENT_STATE_CONFIRMED,
        appointment_pb2.APPOINTMENT_STATE_ADMINISTERED,
    }
)


class PersonLookups:
    def __init__(
        self,
        auth: auth_pb2_grpc.AuthServiceStub,
        appointments: appointment_pb2_grpc.AppointmentServiceStub,
    ) -> None:
        self.auth = auth
        self.appointments = appointments

    async def is_registered_dependant(
        self, person: Person, context: grpc.aio.ServicerContext
    ) -> bool:
        """Whether the auth service lists ``person`` among their citizen's
        dependants."""
        async with upstream("auth"):
            response = await self.auth.ListDependants(
                auth_pb2.ListDependantsRequest(parent=person.account),
                timeout=timeout(context),
            )
        return any(d.name == person.name for d in response.dependants)

    async def booked_appointments(
        self, person: Person, context: grpc.aio.ServicerContext
    ) -> list[appointment_pb2.Appointment]:
        """Every appointment of ``person`` that is pending, confirmed or
        administered."""
        booked, page_token = [], ""
        while True:
            async with upstream("appointment"):
                response = await self.appointments.ListAppointments(
                    appointment_pb2.ListAppointmentsRequest(
                        parent=person.name,
                        page_size=paging.MAX_PAGE_SIZE,
                        page_token=page_token,
                    ),
                    timeout=timeout(context),
                )
            booked.extend(a for a in response.appointments if a.state in BOOKED_STATES)
            page_token = response.next_page_token
            if not page_token:
                return booked
