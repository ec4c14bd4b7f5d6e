"""The patient service: health records, their validation, who may see and
change them, and the vaccination history."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.patient.v1 import patient_pb2 as pb
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.auth import Role
from services.common.errors import read_error
from tests.mesh import booker, make_clinic, make_slot, new_id, reserve_request
from tests.test_auth import sign_up

# The mesh clock starts on 2027-03-01.
TODAY = "2027-03-01"


# Builders


def as_citizen(mesh, citizen: str) -> tuple:
    return mesh.token(citizen)


def as_service(mesh) -> tuple:
    return mesh.token("services/tests", Role.SERVICE)


def as_staff(mesh, *clinics: str) -> tuple:
    return mesh.token(f"staffAccounts/{new_id()}", Role.CLINIC_STAFF, clinics)


def new_citizen() -> str:
    """The name of a citizen no one has used yet (no account behind it)."""
    return f"citizens/{new_id()}"


async def signed_up_citizen(mesh) -> str:
    """The name of a new citizen account, needed to register dependants."""
    return (await sign_up(mesh)).name


async def add_dependant(mesh, citizen: str) -> str:
    dependant = await mesh.auth.AddDependant(
        auth.AddDependantRequest(
            parent=citizen,
            dependant=auth.Dependant(
                display_name="Meera", relationship=auth.RELATIONSHIP_CHILD
            ),
            request_id=new_id(),
        ),
        metadata=as_citizen(mesh, citizen),
    )
    return dependant.name


def record(person: str, **fields) -> pb.Patient:
    """A valid record of ``person``, with ``fields`` replaced."""
    values = {
        "birth_date": "1990-05-17",
        "region": "north",
        "allergies": ["polyethylene glycol"],
        "contraindications": [],
        "guardian_consent": False,
        **fields,
    }
    return pb.Patient(name=f"{person}/patient", **values)


def update(patient: pb.Patient, allow_missing=True, request_id=None):
    return pb.UpdatePatientRequest(
        patient=patient,
        allow_missing=allow_missing,
        request_id=new_id() if request_id is None else request_id,
    )


async def create(mesh, person: str, **fields) -> pb.Patient:
    """Creates ``person``'s record as a service would."""
    return await mesh.patients.UpdatePatient(
        update(record(person, **fields)), metadata=as_service(mesh)
    )


def tomorrow(mesh) -> str:
    """The day after the mesh clock's, which other tests move on."""
    return (mesh.clock.now().date() + timedelta(days=1)).isoformat()


def dose(vaccine="comirnaty", number=1, given=TODAY, clinic="", batch="EX1234"):
    return pb.Vaccination(
        vaccine=vaccine,
        dose_number=number,
        given_date=given,
        clinic=clinic,
        batch=batch,
    )


def record_dose(person: str, vaccination: pb.Vaccination, request_id=None):
    return pb.RecordVaccinationRequest(
        parent=f"{person}/patient",
        vaccination=vaccination,
        request_id=new_id() if request_id is None else request_id,
    )


async def get(mesh, person: str, metadata) -> pb.Patient:
    return await mesh.patients.GetPatient(
        pb.GetPatientRequest(name=f"{person}/patient"), metadata=metadata
    )


async def book(mesh, citizen: str, clinic, vaccine="comirnaty", dose_number=1):
    """Books ``citizen`` at ``clinic``; eligibility must let them."""
    slot = await make_slot(mesh, clinic)
    booked = await mesh.appointments.ReserveAppointment(
        reserve_request(
            slot, citizen.removeprefix("citizens/"), vaccine=vaccine, dose=dose_number
        ),
        metadata=as_citizen(mesh, citizen),
    )
    assert booked.state != appt.APPOINTMENT_STATE_REJECTED, booked.reasons
    return booked


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return read_error(error.value)


# Creating and updating records


async def test_citizen_creates_own_record_with_allow_missing_then_reads_it(mesh):
    citizen = new_citizen()

    created = await mesh.patients.UpdatePatient(
        update(record(citizen)), metadata=as_citizen(mesh, citizen)
    )
    read = await get(mesh, citizen, as_citizen(mesh, citizen))

    assert read == created
    assert read.name == f"{citizen}/patient"
    assert (read.birth_date, read.region) == ("1990-05-17", "north")
    assert list(read.allergies) == ["polyethylene glycol"]
    assert read.update_time.ToDatetime() == mesh.clock.now().replace(tzinfo=None)


async def test_update_without_allow_missing_of_missing_record_is_not_found(mesh):
    citizen = new_citizen()

    error = await refused(
        mesh.patients.UpdatePatient(
            update(record(citizen), allow_missing=False),
            metadata=as_citizen(mesh, citizen),
        )
    )

    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.reason == "PATIENT_NOT_FOUND"


async def test_update_replaces_fields_and_cleans_conditions(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)

    updated = await mesh.patients.UpdatePatient(
        update(
            record(
                citizen,
                region="south",
                allergies=["  Latex ", "latex", "EGG"],
                contraindications=["Pregnancy"],
                guardian_consent=True,
            ),
            allow_missing=False,
        ),
        metadata=as_citizen(mesh, citizen),
    )

    assert updated.region == "south"
    assert list(updated.allergies) == ["latex", "egg"]
    assert list(updated.contraindications) == ["pregnancy"]
    assert updated.guardian_consent


async def test_retried_update_does_not_undo_a_later_one(mesh):
    citizen = new_citizen()
    first = update(record(citizen, region="north"))
    await mesh.patients.UpdatePatient(first, metadata=as_citizen(mesh, citizen))
    await mesh.patients.UpdatePatient(
        update(record(citizen, region="south")), metadata=as_citizen(mesh, citizen)
    )

    await mesh.patients.UpdatePatient(first, metadata=as_citizen(mesh, citizen))

    assert (await get(mesh, citizen, as_service(mesh))).region == "south"


# Validation


async def test_every_bad_field_of_a_record_is_reported_together(mesh):
    citizen = new_citizen()
    bad = record(
        citizen,
        birth_date="17/05/1990",
        region="North",
        allergies=["x" * 101, " "],
        contraindications=[f"condition {n}" for n in range(51)],
    )

    error = await refused(
        mesh.patients.UpdatePatient(
            update(bad, request_id=""), metadata=as_citizen(mesh, citizen)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.field_violations) == {
        "patient.birth_date",
        "patient.region",
        "patient.allergies[0]",
        "patient.allergies[1]",
        "patient.contraindications",
        "request_id",
    }
    assert "YYYY-MM-DD" in error.field_violations["patient.birth_date"]
    assert "lower case" in error.field_violations["patient.region"]
    assert "at most 100" in error.field_violations["patient.allergies[0]"]
    assert "at most 50" in error.field_violations["patient.contraindications"]


@pytest.mark.parametrize(
    ("birth_date", "complaint"),
    [
        ("", "is required"),
        ("1990-5-17", "YYYY-MM-DD"),
        ("2023-02-30", "not a real date"),
        ("tomorrow", "future"),
        ("1899-12-31", "before 1900-01-01"),
    ],
)
async def test_birth_date_must_be_a_real_past_day_since_1900(
    mesh, birth_date, complaint
):
    citizen = new_citizen()
    if birth_date == "tomorrow":
        birth_date = tomorrow(mesh)

    error = await refused(
        mesh.patients.UpdatePatient(
            update(record(citizen, birth_date=birth_date)),
            metadata=as_citizen(mesh, citizen),
        )
    )

    assert list(error.field_violations) == ["patient.birth_date"]
    assert complaint in error.field_violations["patient.birth_date"]


async def test_birth_date_of_today_and_of_1900_are_accepted(mesh):
    for birth_date in (mesh.clock.now().date().isoformat(), "1900-01-01"):
        created = await create(mesh, new_citizen(), birth_date=birth_date)
        assert created.birth_date == birth_date


async def test_region_is_required_and_at_most_64_chars(mesh):
    for region, complaint in (("", "is required"), ("a" * 65, "at most 64")):
        citizen = new_citizen()
        error = await refused(
            mesh.patients.UpdatePatient(
                update(record(citizen, region=region)),
                metadata=as_citizen(mesh, citizen),
            )
        )
        assert complaint in error.field_violations["patient.region"]


async def test_every_bad_field_of_a_vaccination_is_reported_together(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    bad = dose(
        vaccine="v" * 65,
        number=11,
        given=tomorrow(mesh),
        clinic="hospitals/1",
        batch="b" * 65,
    )

    error = await refused(
        mesh.patients.RecordVaccination(
            record_dose(citizen, bad, request_id=""), metadata=as_service(mesh)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.field_violations) == {
        "vaccination.vaccine",
        "vaccination.dose_number",
        "vaccination.given_date",
        "vaccination.clinic",
        "vaccination.batch",
        "request_id",
    }
    assert "between 1 and 10" in error.field_violations["vaccination.dose_number"]
    assert "future" in error.field_violations["vaccination.given_date"]


async def test_bad_record_names_are_refused(mesh):
    error = await refused(
        mesh.patients.GetPatient(
            pb.GetPatientRequest(name="citizens/abc"), metadata=as_service(mesh)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "/patient" in error.field_violations["name"]


# Citizens and their dependants


async def test_citizen_cannot_read_or_update_another_citizens_record(mesh):
    owner, stranger = new_citizen(), new_citizen()
    await create(mesh, owner)

    reading = await refused(get(mesh, owner, as_citizen(mesh, stranger)))
    updating = await refused(
        mesh.patients.UpdatePatient(
            update(record(owner, region="east")), metadata=as_citizen(mesh, stranger)
        )
    )

    for error in (reading, updating):
        assert error.code == grpc.StatusCode.PERMISSION_DENIED
        assert error.reason == "NOT_OWNER"
    assert (await get(mesh, owner, as_service(mesh))).region == "north"


async def test_citizen_cannot_touch_another_citizens_dependant(mesh):
    parent = await signed_up_citizen(mesh)
    dependant = await add_dependant(mesh, parent)
    await create(mesh, dependant)
    stranger = new_citizen()

    reading = await refused(get(mesh, dependant, as_citizen(mesh, stranger)))
    updating = await refused(
        mesh.patients.UpdatePatient(
            update(record(dependant)), metadata=as_citizen(mesh, stranger)
        )
    )

    assert reading.reason == updating.reason == "NOT_OWNER"


async def test_dependant_record_needs_a_registered_dependant(mesh):
    parent = await signed_up_citizen(mesh)
    unregistered = f"{parent}/dependants/{new_id()}"

    error = await refused(
        mesh.patients.UpdatePatient(
            update(record(unregistered)), metadata=as_citizen(mesh, parent)
        )
    )

    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "DEPENDANT_NOT_REGISTERED"


async def test_parent_creates_and_reads_a_registered_dependants_record(mesh):
    parent = await signed_up_citizen(mesh)
    dependant = await add_dependant(mesh, parent)

    created = await mesh.patients.UpdatePatient(
        update(record(dependant, birth_date="2019-08-02", guardian_consent=True)),
        metadata=as_citizen(mesh, parent),
    )

    assert created.name == f"{dependant}/patient"
    assert await get(mesh, dependant, as_citizen(mesh, parent)) == created


async def test_roles_outside_the_policy_are_refused(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)

    reviewer = await refused(
        get(mesh, citizen, mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER))
    )
    citizen_recording = await refused(
        mesh.patients.RecordVaccination(
            record_dose(citizen, dose()), metadata=as_citizen(mesh, citizen)
        )
    )
    anonymous = await refused(
        patient_pb2_grpc.PatientServiceStub(mesh.anonymous("patient")).GetPatient(
            pb.GetPatientRequest(name=f"{citizen}/patient")
        )
    )

    assert reviewer.reason == citizen_recording.reason == "ROLE_NOT_ALLOWED"
    assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED


# Clinic staff


async def test_staff_cannot_read_a_patient_not_booked_at_their_clinic(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    clinic = await make_clinic(mesh)

    error = await refused(get(mesh, citizen, as_staff(mesh, clinic.name)))

    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert error.reason == "NOT_OWNER"


async def test_staff_see_a_booked_patient_reduced_to_what_the_visit_needs(mesh):
    citizen = new_citizen()
    # No allergy here that would make eligibility refuse the booking.
    await create(mesh, citizen, allergies=["latex"], contraindications=["asthma"])
    clinic = await make_clinic(mesh, vaccines=("comirnaty",))
    elsewhere = await make_clinic(mesh, vaccines=("comirnaty",))
    for vaccination in (
        dose("measles", 1, given="1991-06-01"),
        dose("comirnaty", 1, given="2027-01-30"),
    ):
        await mesh.patients.RecordVaccination(
            record_dose(citizen, vaccination), metadata=as_service(mesh)
        )
    await book(mesh, citizen, clinic, vaccine="comirnaty", dose_number=2)

    seen = await get(mesh, citizen, as_staff(mesh, clinic.name))
    other_staff = await refused(get(mesh, citizen, as_staff(mesh, elsewhere.name)))

    assert seen.birth_date == "1990-05-17"
    assert list(seen.allergies) == ["latex"]
    assert list(seen.contraindications) == ["asthma"]
    assert seen.region == ""
    assert [v.vaccine for v in seen.vaccinations] == ["comirnaty"]
    assert other_staff.reason == "NOT_OWNER"


async def test_staff_lose_sight_of_a_patient_whose_booking_was_cancelled(mesh):
    citizen = new_citizen()
    await create(mesh, citizen, allergies=[])
    clinic = await make_clinic(mesh)
    booked = await book(mesh, citizen, clinic)
    await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=booked.name, request_id=new_id()),
        metadata=as_citizen(mesh, citizen),
    )

    error = await refused(get(mesh, citizen, as_staff(mesh, clinic.name)))

    assert error.reason == "NOT_OWNER"


async def test_staff_record_doses_only_at_their_own_clinics(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    mine, theirs = await make_clinic(mesh), await make_clinic(mesh)
    staff = as_staff(mesh, mine.name)

    recorded = await mesh.patients.RecordVaccination(
        record_dose(citizen, dose(clinic=mine.name)), metadata=staff
    )
    elsewhere = await refused(
        mesh.patients.RecordVaccination(
            record_dose(citizen, dose(number=2, clinic=theirs.name)), metadata=staff
        )
    )
    without_clinic = await refused(
        mesh.patients.RecordVaccination(
            record_dose(citizen, dose(number=2)), metadata=staff
        )
    )

    assert recorded.clinic == mine.name
    assert elsewhere.reason == without_clinic.reason == "NOT_OWNER"


# Vaccination history


async def test_recording_the_same_request_again_returns_the_first_record(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    request = record_dose(citizen, dose(batch="FIRST"))

    first = await mesh.patients.RecordVaccination(request, metadata=as_service(mesh))
    request.vaccination.batch = "SECOND"
    again = await mesh.patients.RecordVaccination(request, metadata=as_service(mesh))

    assert again == first
    assert again.batch == "FIRST"
    history = (await get(mesh, citizen, as_service(mesh))).vaccinations
    assert list(history) == [first]


async def test_same_dose_under_another_request_id_already_exists(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    await mesh.patients.RecordVaccination(
        record_dose(citizen, dose()), metadata=as_service(mesh)
    )

    error = await refused(
        mesh.patients.RecordVaccination(
            record_dose(citizen, dose(batch="OTHER")), metadata=as_service(mesh)
        )
    )

    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "DOSE_ALREADY_RECORDED"
    assert error.metadata["dose_number"] == "1"


async def test_request_id_of_another_persons_dose_is_refused(mesh):
    first, second = new_citizen(), new_citizen()
    for citizen in (first, second):
        await create(mesh, citizen)
    request = record_dose(first, dose())
    await mesh.patients.RecordVaccination(request, metadata=as_service(mesh))
    request.parent = f"{second}/patient"

    error = await refused(
        mesh.patients.RecordVaccination(request, metadata=as_service(mesh))
    )

    assert error.reason == "REQUEST_ID_REUSED"
    assert not (await get(mesh, second, as_service(mesh))).vaccinations


async def test_recording_a_dose_for_a_person_without_a_record_is_not_found(mesh):
    error = await refused(
        mesh.patients.RecordVaccination(
            record_dose(new_citizen(), dose()), metadata=as_service(mesh)
        )
    )

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_history_is_listed_oldest_first(mesh):
    citizen = new_citizen()
    await create(mesh, citizen)
    clinic = await make_clinic(mesh)
    for vaccination in (
        dose("comirnaty", 2, given="2026-09-01", clinic=clinic.name),
        dose("measles", 1, given="1991-06-01"),
        dose("comirnaty", 1, given="2026-06-01"),
    ):
        await mesh.patients.RecordVaccination(
            record_dose(citizen, vaccination), metadata=as_service(mesh)
        )

    history = (await get(mesh, citizen, as_citizen(mesh, citizen))).vaccinations

    assert [(v.vaccine, v.dose_number, v.given_date) for v in history] == [
        ("measles", 1, "1991-06-01"),
        ("comirnaty", 1, "2026-06-01"),
        ("comirnaty", 2, "2026-09-01"),
    ]
    assert history[2].clinic == clinic.name


# Many records at once, for other services


async def test_batch_get_returns_the_records_that_exist_and_leaves_out_the_rest(mesh):
    first, second = await booker(mesh), await booker(mesh, region="east")
    missing = new_id()

    response = await mesh.patients.BatchGetPatients(
        pb.BatchGetPatientsRequest(
            names=[f"citizens/{c}/patient" for c in (first, missing, second)]
        )
    )

    by_name = {patient.name: patient for patient in response.patients}
    assert set(by_name) == {f"citizens/{first}/patient", f"citizens/{second}/patient"}
    assert by_name[f"citizens/{second}/patient"].region == "east"


async def test_batch_get_is_for_services_and_names_each_bad_entry(mesh):
    citizen = await booker(mesh)
    request = pb.BatchGetPatientsRequest(names=[f"citizens/{citizen}/patient"])

    as_owner = await refused(
        mesh.patients.BatchGetPatients(
            request, metadata=as_citizen(mesh, f"citizens/{citizen}")
        )
    )
    bad = await refused(
        mesh.patients.BatchGetPatients(
            pb.BatchGetPatientsRequest(names=[f"citizens/{citizen}/patient", "nobody"])
        )
    )

    assert as_owner.reason == "ROLE_NOT_ALLOWED"
    assert bad.code is grpc.StatusCode.INVALID_ARGUMENT
    assert list(bad.field_violations) == ["names[1]"]
