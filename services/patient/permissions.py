"""Who may see and change which health records, and how much of them.

The interceptor has already checked the caller's role against the access
policy; these checks look at the record itself. Citizens act on their own
record and their dependants'; clinic staff see the people booked at their
clinics, reduced to what the visit needs, and record doses given there;
services and admins may do everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from vaxbook.appointment.v1 import appointment_pb2
from vaxbook.patient.v1 import patient_pb2 as pb

from services.common.auth import (
    AuthError,
    Principal,
    Role,
    current_principal,
    require_clinic,
    require_person,
)
from services.common.names import CLINIC, SLOT, Person
from services.patient.errors import PatientError
from services.patient.lookups import PersonLookups


@dataclass(frozen=True)
class View:
    """How much of a record the caller sees: everything, or for clinic staff
    the clinical fields and the doses of the vaccines booked with them."""

    vaccines: frozenset[str] | None = None

    def show(self, patient: pb.Patient) -> pb.Patient:
        if self.vaccines is None:
            return patient
        return pb.Patient(
            name=patient.name,
            birth_date=patient.birth_date,
            allergies=patient.allergies,
            contraindications=patient.contraindications,
            guardian_consent=patient.guardian_consent,
            display_name=patient.display_name,
            vaccinations=[
                v for v in patient.vaccinations if v.vaccine in self.vaccines
            ],
            update_time=patient.update_time,
        )


FULL_VIEW = View()


class Permissions:
    def __init__(self, lookups: PersonLookups) -> None:
        self.lookups = lookups

    async def reader_view(
        self, person: Person, context: grpc.aio.ServicerContext
    ) -> View:
        """What the caller may see of ``person``'s record; raises
        ``NOT_OWNER`` when nothing."""
        principal = current_principal()
        if principal.role is not Role.CLINIC_STAFF:
            require_person(person.account, person.patient_name)
            return FULL_VIEW
        appointments = await self.lookups.booked_appointments(person, context)
        vaccines = vaccines_booked_with(principal, appointments)
        if not vaccines:
            raise AuthError.not_owner(principal.subject, person.patient_name)
        return View(vaccines)

    def check_editor(self, person: Person) -> None:
        """Only the person's own citizen, a service or an admin edit a record."""
        require_person(person.account, person.patient_name)

    async def check_new_dependant(
        self, person: Person, context: grpc.aio.ServicerContext
    ) -> None:
        """A dependant's record is created only for a registered dependant."""
        if not await self.lookups.is_registered_dependant(person, context):
            raise PatientError.dependant_not_registered(person.name)

    def check_recorder(self, clinic: str) -> None:
        """Clinic staff record only doses given at their own clinics."""
        require_clinic(clinic, clinic or "doses given outside vaxbook clinics")


def vaccines_booked_with(
    principal: Principal, appointments: Iterable[appointment_pb2.Appointment]
) -> frozenset[str]:
    """The vaccines booked at the staff member's clinics."""
    return frozenset(
        appointment.vaccine
        for appointment in appointments
        if _clinic_of(appointment.slot) in principal.clinics
    )


def _clinic_of(slot: str) -> str:
    ids = SLOT.parse(slot)
    return CLINIC.format(clinic=ids["clinic"]) if ids else ""
