"""What a valid health record and a valid vaccination look like.

Each check records every violation on the ``Checker`` and returns the cleaned
value, so one refusal names every bad field at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from vaxbook.patient.v1 import patient_pb2 as pb

from services.common.names import CLINIC
from services.common.validation import Checker
from services.patient.store import NewVaccination, PatientFields

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
MAX_REGION_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 200
MAX_CONDITION_LENGTH = 100
MAX_CONDITIONS = 50
MAX_VACCINE_LENGTH = 64
MAX_BATCH_LENGTH = 64
MAX_DOSE_NUMBER = 10


def check_patient(check: Checker, patient: pb.Patient, today: date) -> PatientFields:
    """The editable fields of a ``Patient`` message, cleaned."""
    birth_date = check_day(check, "patient.birth_date", patient.birth_date, today)
    if birth_date is not None and birth_date < EARLIEST_BIRTH_DATE:
        check.fail(
            "patient.birth_date",
            f"must not be before {EARLIEST_BIRTH_DATE.isoformat()}, "
            f"got {patient.birth_date!r}",
        )
    _check_region(check, "patient.region", patient.region)
    return PatientFields(
        birth_date=birth_date,
        region=patient.region,
        allergies=check_conditions(check, "patient.allergies", patient.allergies),
        contraindications=check_conditions(
            check, "patient.contraindications", patient.contraindications
        ),
        guardian_consent=patient.guardian_consent,
        display_name=_check_display_name(check, patient.display_name),
    )


def _check_display_name(check: Checker, display_name: str) -> str:
    check.text(
        "patient.display_name",
        display_name,
        MAX_DISPLAY_NAME_LENGTH,
        required=False,
    )
    return display_name.strip()


def check_vaccination(
    check: Checker, vaccination: pb.Vaccination, today: date
) -> NewVaccination:
    """The dose a ``Vaccination`` message describes, cleaned."""
    vaccine = vaccination.vaccine
    check.text(
        "vaccination.vaccine", vaccine if vaccine.strip() else "", MAX_VACCINE_LENGTH
    )
    check.between(
        "vaccination.dose_number", vaccination.dose_number, 1, MAX_DOSE_NUMBER
    )
    given_date = check_day(
        check, "vaccination.given_date", vaccination.given_date, today
    )
    clinic_id = ""
    if vaccination.clinic:
        clinic_id = check.name("vaccination.clinic", vaccination.clinic, CLINIC).get(
            "clinic", ""
        )
    check.text("vaccination.batch", vaccination.batch, MAX_BATCH_LENGTH, required=False)
    return NewVaccination(
        vaccine=vaccine,
        dose_number=vaccination.dose_number,
        given_date=given_date,
        clinic_id=clinic_id,
        batch=vaccination.batch,
    )


def check_day(check: Checker, field: str, value: str, today: date) -> date | None:
    """A past or present day written ``YYYY-MM-DD``; ``None`` when bad."""
    day = check.day(field, value)
    if day is None:
        return None
    if day > today:
        check.fail(
            field,
            f"must not be in the future, got {value!r} (today is {today.isoformat()})",
        )
        return None
    return day


def check_conditions(check: Checker, field: str, values: Iterable[str]) -> list[str]:
    """Allergies or contraindications: trimmed, lower case, each listed once,
    at most 50 of at most 100 chars each."""
    cleaned: dict[str, None] = {}
    for index, value in enumerate(values):
        condition = value.strip().lower()
        item = f"{field}[{index}]"
        check.text(item, condition, MAX_CONDITION_LENGTH)
        if condition and len(condition) <= MAX_CONDITION_LENGTH:
            cleaned[condition] = None
    if len(cleaned) > MAX_CONDITIONS:
        check.fail(
            field, f"must list at most {MAX_CONDITIONS} entries, got {len(cleaned)}"
        )
    return list(cleaned)


def _check_region(check: Checker, field: str, region: str) -> None:
    check.text(field, region if region.strip() else "", MAX_REGION_LENGTH)
    if region.strip() and region != region.strip().lower():
        check.fail(
            field,
            f"must be lower case without surrounding spaces, for example "
            f"'north', got {region!r}",
        )
