"""gRPC transport of the patient service, and who may call each RPC."""

from __future__ import annotations

import logging
from datetime import date

from vaxbook.patient.v1 import patient_pb2 as pb
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.auth import Role, current_principal
from services.common.clock import Clock, to_timestamp
from services.common.errors import NotFound
from services.common.events import EventSettings
from services.common.names import CLINIC, Person, check_person
from services.common.validation import checking
from services.common.views import is_person, personal_data_viewed
from services.patient.errors import PatientError
from services.patient.permissions import FULL_VIEW, Permissions
from services.patient.records import check_patient, check_vaccination
from services.patient.store import PatientRow, PatientStore, VaccinationRow

log = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["PatientService"].full_name
GET_PATIENT = f"/{SERVICE}/GetPatient"

# Who may call each RPC; the AuthInterceptor refuses everyone else, and the
# servicer then checks the record itself (see ``permissions``).
ACCESS_POLICY = {
    f"/{SERVICE}/GetPatient": {
        Role.CITIZEN,
        Role.CLINIC_STAFF,
        Role.SERVICE,
        Role.ADMIN,
    },
    f"/{SERVICE}/BatchGetPatients": {Role.SERVICE, Role.ADMIN},
    f"/{SERVICE}/UpdatePatient": {Role.CITIZEN, Role.SERVICE, Role.ADMIN},
    f"/{SERVICE}/RecordVaccination": {Role.CLINIC_STAFF, Role.SERVICE, Role.ADMIN},
}


# Most records one BatchGetPatients call may ask for.
MAX_BATCH = 500


class PatientServicer(patient_pb2_grpc.PatientServiceServicer):
    def __init__(
        self,
        store: PatientStore,
        permissions: Permissions,
        clock: Clock,
        events: EventSettings,
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.clock = clock
        self.events = events

    async def GetPatient(self, request, context) -> pb.Patient:
        with checking() as check:
            person = check_person(check, "name", request.name, patient=True)
        view = await self.permissions.reader_view(person, context)
        row = await self.store.get(person.key)
        if row is None:
            raise NotFound("patient", request.name)
        await self._record_view(person)
        return view.show(_patient(row))

    async def _record_view(self, person: Person) -> None:
        """Writes to the outbox, for the audit trail, that a person read the
        record; a read whose view cannot be written fails. Services reading
        for themselves are not recorded."""
        viewer = current_principal()
        if not is_person(viewer):
            return
        now = self.clock.now()
        view = personal_data_viewed(
            self.events,
            viewer,
            person.patient_name,
            GET_PATIENT,
            now,
            citizen=person.name,
        )
        await self.store.record_view(view, now)

    async def BatchGetPatients(self, request, context) -> pb.BatchGetPatientsResponse:
        with checking() as check:
            if check.required("names", list(request.names)):
                check.between("len(names)", len(request.names), 1, MAX_BATCH)
            people = [
                check_person(check, f"names[{index}]", name, patient=True)
                for index, name in enumerate(request.names)
            ]
        rows = await self.store.get_many(sorted({person.key for person in people}))
        return pb.BatchGetPatientsResponse(patients=[_patient(row) for row in rows])

    async def UpdatePatient(self, request, context) -> pb.Patient:
        with checking() as check:
            person = check_person(
                check, "patient.name", request.patient.name, patient=True
            )
            fields = check_patient(check, request.patient, self._today())
            check.request_id(request.request_id)
        self.permissions.check_editor(person)
        now = self.clock.now()
        if request.allow_missing:
            if person.dependant and not await self.store.exists(person.key):
                await self.permissions.check_new_dependant(person, context)
            row = await self.store.upsert(person.key, fields, request.request_id, now)
        else:
            row = await self.store.update(person.key, fields, request.request_id, now)
            if row is None:
                raise NotFound("patient", request.patient.name)
        # Who the record belongs to stays out of the logs.
        log.info("patient record saved")
        return FULL_VIEW.show(_patient(row))

    async def RecordVaccination(self, request, context) -> pb.Vaccination:
        with checking() as check:
            person = check_person(check, "parent", request.parent, patient=True)
            dose = check_vaccination(check, request.vaccination, self._today())
            check.request_id(request.request_id)
        self.permissions.check_recorder(request.vaccination.clinic)
        row = await self.store.record_vaccination(
            person.key, dose, request.request_id, self.clock.now()
        )
        _check_recorded(row, person, request)
        log.info(
            "vaccination recorded",
            extra={"fields": {"vaccination": row.id}},
        )
        return _vaccination(row)

    def _today(self) -> date:
        return self.clock.now().date()


def _check_recorded(
    row: VaccinationRow | None, person: Person, request: pb.RecordVaccinationRequest
) -> None:
    """Raises unless ``row`` is the dose ``request`` recorded, now or before."""
    if row is None:
        raise NotFound("patient", request.parent)
    if row.request_id == request.request_id and row.person_key != person.key:
        raise PatientError.request_id_reused(request.request_id)
    if row.request_id != request.request_id:
        raise PatientError.dose_already_recorded(
            request.parent, row.vaccine, row.dose_number
        )


def _patient(row: PatientRow) -> pb.Patient:
    fields = row.fields
    return pb.Patient(
        name=Person.from_key(row.person_key).patient_name,
        birth_date=fields.birth_date.isoformat(),
        region=fields.region,
        allergies=fields.allergies,
        contraindications=fields.contraindications,
        guardian_consent=fields.guardian_consent,
        display_name=fields.display_name,
        vaccinations=[_vaccination(v) for v in row.vaccinations],
        update_time=to_timestamp(row.update_time),
    )


def _vaccination(row: VaccinationRow) -> pb.Vaccination:
    return pb.Vaccination(
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        given_date=row.given_date.isoformat(),
        clinic=CLINIC.format(clinic=row.clinic_id) if row.clinic_id else "",
        batch=row.batch,
    )
