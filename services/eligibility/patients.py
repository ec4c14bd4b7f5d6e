"""Health records read from the patient service, as eligibility needs them."""

from __future__ import annotations

from datetime import date

import grpc
from vaxbook.patient.v1 import patient_pb2, patient_pb2_grpc

from services.common.errors import DomainError
from services.common.grpc_clients import upstream
from services.common.names import Person
from services.eligibility.evaluation import CitizenProfile, DoseRecord


class PatientRecords:
    """Fetches a person's record and turns it into a :class:`CitizenProfile`."""

    def __init__(self, patients: patient_pb2_grpc.PatientServiceStub) -> None:
        self.patients = patients

    async def profile(
        self, person: Person, timeout_seconds: float
    ) -> CitizenProfile | None:
        """The person's profile; ``None`` when they have no record, or one
        without the date of birth and region every rule needs. An unreachable
        patient service raises ``PATIENT_UNAVAILABLE``."""
        try:
            async with upstream("patient"):
                patient = await self.patients.GetPatient(
                    patient_pb2.GetPatientRequest(name=person.patient_name),
                    timeout=timeout_seconds,
                )
        except DomainError as error:
            if error.code is grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return citizen_profile(person, patient)

    async def profiles(
        self, people: list[Person], timeout_seconds: float
    ) -> dict[str, CitizenProfile]:
        """The profiles of those among ``people`` who have a usable record,
        by person key, read in one call."""
        async with upstream("patient"):
            response = await self.patients.BatchGetPatients(
                patient_pb2.BatchGetPatientsRequest(
                    names=[person.patient_name for person in people]
                ),
                timeout=timeout_seconds,
            )
        profiles = {}
        for patient in response.patients:
            person = Person.parse_patient(patient.name)
            profile = citizen_profile(person, patient) if person else None
            if profile is not None:
                profiles[person.key] = profile
        return profiles


def citizen_profile(
    person: Person, patient: patient_pb2.Patient
) -> CitizenProfile | None:
    """The profile in a record; ``None`` when it lacks a birth date or region.
    Allergies and other contraindications count alike."""
    born = _day(patient.birth_date)
    if born is None or not patient.region.strip():
        return None
    conditions = (*patient.allergies, *patient.contraindications)
    return CitizenProfile(
        citizen_ref=insurer_ref(person),
        date_of_birth=born,
        region=patient.region,
        allergies=frozenset(c.strip().lower() for c in conditions if c.strip()),
        history=tuple(
            DoseRecord(v.vaccine, v.dose_number, date.fromisoformat(v.given_date))
            for v in patient.vaccinations
        ),
        guardian_consent=patient.guardian_consent,
    )


def insurer_ref(person: Person) -> str:
    """The opaque reference the insurer knows the person by."""
    return person.key.replace("/", "-")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
