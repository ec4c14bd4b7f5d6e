"""Judging one booking request against a rule set: every rule, every failure.

Pure: no I/O and no clock. The appointment date is the day the rules are
judged on, and the insurance status is whatever the caller found out. Each
failure carries a machine code and a sentence the citizen can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from services.eligibility.errors import EligibilityError
from services.eligibility.rules import OutagePolicy, RuleSet, VaccineRule
from services.eligibility.wording import joined, long_date, ordinal


class Code(StrEnum):
    """Why a booking is not eligible."""

    VACCINE_UNKNOWN = "VACCINE_UNKNOWN"
    TOO_YOUNG = "TOO_YOUNG"
    TOO_OLD = "TOO_OLD"
    WRONG_REGION = "WRONG_REGION"
    ALLERGY_CONTRAINDICATION = "ALLERGY_CONTRAINDICATION"
    DOSE_ALREADY_GIVEN = "DOSE_ALREADY_GIVEN"
    TOO_MANY_DOSES = "TOO_MANY_DOSES"
    DOSE_OUT_OF_SEQUENCE = "DOSE_OUT_OF_SEQUENCE"
    DOSE_TOO_SOON = "DOSE_TOO_SOON"
    DOSE_TOO_LATE = "DOSE_TOO_LATE"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    INSURANCE_NOT_ACTIVE = "INSURANCE_NOT_ACTIVE"
    INSURANCE_UNAVAILABLE = "INSURANCE_UNAVAILABLE"
    PATIENT_RECORD_MISSING = "PATIENT_RECORD_MISSING"


class InsuranceStatus(StrEnum):
    """What the insurance API said about a citizen's cover."""

    ACTIVE = "active"
    NOT_ACTIVE = "not_active"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class DoseRecord:
    """A dose the citizen has already had."""

    vaccine: str
    dose_number: int
    given_on: date


@dataclass(frozen=True)
class CitizenProfile:
    """What eligibility needs to know about a citizen. ``citizen_ref`` is the
    pseudonymous reference the insurer knows, never the national id."""

    citizen_ref: str = field(repr=False)
    date_of_birth: date
    region: str
    allergies: frozenset[str] = frozenset()
    history: tuple[DoseRecord, ...] = ()
    guardian_consent: bool = False


@dataclass(frozen=True)
class EligibilityRequest:
    """One dose of one vaccine for one citizen on one day."""

    profile: CitizenProfile
    vaccine: str
    dose_number: int
    appointment_date: date


@dataclass(frozen=True)
class Failure:
    """One rule the request breaks. ``details`` holds machine-readable values
    such as ``earliest_date`` (ISO 8601)."""

    code: Code
    message: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome of a check and the rule-set version it used.

    ``review_required`` is set when the booking may go ahead only provisionally,
    because insurance could not be verified and the policy allows it."""

    vaccine: str
    dose_number: int
    rules_version: str
    failures: tuple[Failure, ...]
    review_required: bool = False
    insurance: InsuranceStatus | None = None

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def codes(self) -> list[str]:
        return [failure.code.value for failure in self.failures]

    @property
    def messages(self) -> list[str]:
        return [failure.message for failure in self.failures]

    def raise_if_not_eligible(self) -> None:
        """Raises ``NOT_ELIGIBLE`` with every reason when there is a failure."""
        if self.failures:
            raise EligibilityError.not_eligible(
                self.rules_version, self.codes, self.messages
            )


def evaluate(
    rules: RuleSet,
    request: EligibilityRequest,
    insurance: InsuranceStatus | None = None,
) -> Decision:
    """Checks every rule of the requested vaccine and returns all failures.

    ``insurance`` is the status found for the citizen; ``None`` (not checked)
    counts as unavailable when the vaccine needs insurance."""
    if request.dose_number < 1:
        raise EligibilityError.dose_number_invalid(request.dose_number)
    rule = rules.vaccines.get(request.vaccine)
    if rule is None:
        failures = [_vaccine_unknown(rules, request.vaccine)]
        return _decision(rules, request, failures, insurance=insurance)

    failures = rule_failures(rule, request)
    insurance_failures, provisional = _insurance(rule, insurance)
    failures += insurance_failures
    review_required = provisional and not failures
    return _decision(rules, request, failures, review_required, insurance)


def record_missing(rules: RuleSet, vaccine: str, dose_number: int) -> Decision:
    """The decision for someone with no usable health record: nothing else can
    be judged until they give their date of birth and region."""
    failure = Failure(
        Code.PATIENT_RECORD_MISSING,
        "We do not have your date of birth and region yet; please add them to "
        "your health record, then book again.",
    )
    return Decision(vaccine, dose_number, rules.version, (failure,))


def rule_failures(rule: VaccineRule, request: EligibilityRequest) -> list[Failure]:
    """Every failure except insurance, in a fixed order."""
    age_years = age_on(request.profile.date_of_birth, request.appointment_date)
    return [
        *_age(rule, request, age_years),
        *_region(rule, request),
        *_allergies(rule, request),
        *_doses(rule, request),
        *_consent(rule, request, age_years),
    ]


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years of age on ``day``; someone born on 29 February turns a year
    older on 1 March in other years."""
    years = day.year - date_of_birth.year
    return years if birthday(date_of_birth, years) <= day else years - 1


def birthday(date_of_birth: date, age_years: int) -> date:
    """The day someone turns ``age_years`` old."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + age_years)
    except ValueError:
        return date(date_of_birth.year + age_years, 3, 1)


def _decision(
    rules: RuleSet,
    request: EligibilityRequest,
    failures: list[Failure],
    review_required: bool = False,
    insurance: InsuranceStatus | None = None,
) -> Decision:
    return Decision(
        vaccine=request.vaccine,
        dose_number=request.dose_number,
        rules_version=rules.version,
        failures=tuple(failures),
        review_required=review_required,
        insurance=insurance,
    )


def _vaccine_unknown(rules: RuleSet, vaccine: str) -> Failure:
    offered = joined((rule.name for rule in rules.vaccines.values()), last="or")
    return Failure(
        Code.VACCINE_UNKNOWN,
        f"We do not offer a vaccine called {vaccine!r}; please choose {offered}.",
        {"vaccine": vaccine},
    )


def _age(
    rule: VaccineRule, request: EligibilityRequest, age_years: int
) -> list[Failure]:
    if age_years < rule.min_age_years:
        from_day = birthday(request.profile.date_of_birth, rule.min_age_years)
        return [
            Failure(
                Code.TOO_YOUNG,
                f"{rule.name} is given from the age of {rule.min_age_years}; "
                f"you can book it from {long_date(from_day)}.",
                {"earliest_date": from_day.isoformat()},
            )
        ]
    if rule.max_age_years is not None and age_years > rule.max_age_years:
        return [
            Failure(
                Code.TOO_OLD,
                f"{rule.name} is given only up to the age of {rule.max_age_years}; "
                "please choose another vaccine.",
            )
        ]
    return []


def _region(rule: VaccineRule, request: EligibilityRequest) -> list[Failure]:
    region = request.profile.region.strip().lower()
    if rule.regions is None or region in rule.regions:
        return []
    return [
        Failure(
            Code.WRONG_REGION,
            f"{rule.name} is offered only in {joined(rule.regions)}, not in "
            f"{request.profile.region}; please choose another vaccine.",
        )
    ]


def _allergies(rule: VaccineRule, request: EligibilityRequest) -> list[Failure]:
    allergies = {a.strip().lower() for a in request.profile.allergies}
    matched = allergies & rule.contraindicated_allergies
    if not matched:
        return []
    return [
        Failure(
            Code.ALLERGY_CONTRAINDICATION,
            f"Your record lists an allergy to {joined(matched)}, so you cannot "
            f"have {rule.name}; please choose another vaccine or talk to your "
            "doctor.",
        )
    ]


def _doses(rule: VaccineRule, request: EligibilityRequest) -> list[Failure]:
    given = {
        record.dose_number: record
        for record in request.profile.history
        if record.vaccine == rule.code
    }
    number = request.dose_number
    if number in given:
        return [_already_given(rule, given[number])]
    failures = []
    if number > rule.max_doses:
        failures.append(
            Failure(
                Code.TOO_MANY_DOSES,
                f"{rule.name} is given in at most {rule.max_doses} doses, so you "
                f"cannot book dose {number}.",
            )
        )
    if number > 1:
        failures += _sequence(rule, request, given.get(number - 1))
    return failures


def _already_given(rule: VaccineRule, record: DoseRecord) -> Failure:
    return Failure(
        Code.DOSE_ALREADY_GIVEN,
        f"You already had your {ordinal(record.dose_number)} dose of {rule.name} "
        f"on {long_date(record.given_on)}.",
    )


def _sequence(
    rule: VaccineRule, request: EligibilityRequest, previous: DoseRecord | None
) -> list[Failure]:
    number, day = request.dose_number, request.appointment_date
    if previous is None:
        return [
            Failure(
                Code.DOSE_OUT_OF_SEQUENCE,
                f"You need your {ordinal(number - 1)} dose of {rule.name} before "
                f"you can book your {ordinal(number)} dose.",
            )
        ]

    earliest = previous.given_on + timedelta(days=rule.min_interval_days)
    if day < earliest:
        return [
            Failure(
                Code.DOSE_TOO_SOON,
                f"You can book your {ordinal(number)} dose from {long_date(earliest)}.",
                {"earliest_date": earliest.isoformat()},
            )
        ]
    if rule.max_interval_days is None:
        return []
    latest = previous.given_on + timedelta(days=rule.max_interval_days)
    if day > latest:
        return [
            Failure(
                Code.DOSE_TOO_LATE,
                f"Your {ordinal(number)} dose had to be given by {long_date(latest)}; "
                "please talk to your doctor about starting the course again.",
                {"latest_date": latest.isoformat()},
            )
        ]
    return []


def _consent(
    rule: VaccineRule, request: EligibilityRequest, age_years: int
) -> list[Failure]:
    under_years = rule.guardian_consent_under_years
    needed = under_years is not None and age_years < under_years
    if not needed or request.profile.guardian_consent:
        return []
    return [
        Failure(
            Code.CONSENT_REQUIRED,
            f"A parent or guardian must consent before anyone under {under_years} "
            f"has {rule.name}; ask them to record their consent, then book again.",
        )
    ]


def _insurance(
    rule: VaccineRule, insurance: InsuranceStatus | None
) -> tuple[list[Failure], bool]:
    """The insurance failures, and whether the booking may go ahead provisionally."""
    if not rule.insurance_required or insurance is InsuranceStatus.ACTIVE:
        return [], False
    if insurance is InsuranceStatus.NOT_ACTIVE:
        return [
            Failure(
                Code.INSURANCE_NOT_ACTIVE,
                f"{rule.name} needs active health insurance and yours is not "
                "active; please contact your insurer, then book again.",
            )
        ], False
    if rule.insurance_unavailable_policy is OutagePolicy.PROVISIONAL:
        return [], True
    return [
        Failure(
            Code.INSURANCE_UNAVAILABLE,
            "We could not verify your health insurance just now; please try again "
            "later.",
        )
    ], False
