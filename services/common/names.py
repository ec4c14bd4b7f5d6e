"""Resource names shared by every service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.validation import Checker, Resource

CLINIC = Resource("clinics/{clinic}")
SLOT = Resource("clinics/{clinic}/slots/{slot}")
HOLD = Resource("clinics/{clinic}/holds/{hold}")
# A batch is known by the number printed on it.
BATCH_NUMBER = r"[A-Za-z0-9._-]{1,64}"
BATCH = Resource("clinics/{clinic}/batches/{batch}", batch=BATCH_NUMBER)
APPOINTMENT = Resource("appointments/{appointment}")
CITIZEN = Resource("citizens/{citizen}")
DEPENDANT = Resource("citizens/{citizen}/dependants/{dependant}")
STAFF_ACCOUNT = Resource("staffAccounts/{staff_account}")
SIGN_IN_CHALLENGE = Resource("signInChallenges/{sign_in_challenge}")
SIGNING_KEY = Resource("signingKeys/{signing_key}")
REVIEW_CASE = Resource("reviewCases/{review_case}")

PERSON_PATTERNS = "'citizens/{citizen}' or 'citizens/{citizen}/dependants/{dependant}'"
_KEY_SEPARATOR = "/"


@dataclass(frozen=True)
class Person:
    """Someone vaccinated: a citizen, or one of a citizen's dependants.

    ``key`` is the compact form stored in tables: the citizen id, or the
    citizen id and the dependant id joined by ``/``.
    """

    citizen: str
    dependant: str = ""

    @classmethod
    def parse(cls, name: str) -> Person | None:
        """The person ``citizens/{c}`` or ``citizens/{c}/dependants/{d}`` names."""
        ids = CITIZEN.parse(name)
        if ids is not None:
            return cls(ids["citizen"])
        ids = DEPENDANT.parse(name)
        if ids is not None:
            return cls(ids["citizen"], ids["dependant"])
        return None

    @classmethod
    def parse_patient(cls, name: str) -> Person | None:
        """The person whose record ``<person>/patient`` names."""
        base, _, leaf = name.rpartition("/")
        return cls.parse(base) if leaf == "patient" else None

    @classmethod
    def from_key(cls, key: str) -> Person:
        citizen, _, dependant = key.partition(_KEY_SEPARATOR)
        return cls(citizen, dependant)

    @property
    def key(self) -> str:
        if self.dependant:
            return f"{self.citizen}{_KEY_SEPARATOR}{self.dependant}"
        return self.citizen

    @property
    def name(self) -> str:
        if self.dependant:
            return DEPENDANT.format(citizen=self.citizen, dependant=self.dependant)
        return CITIZEN.format(citizen=self.citizen)

    @property
    def account(self) -> str:
        """The citizen account that answers for this person."""
        return CITIZEN.format(citizen=self.citizen)

    @property
    def patient_name(self) -> str:
        return f"{self.name}/patient"


def check_person(
    check: Checker, field: str, value: str, *, patient: bool = False
) -> Person | None:
    """Parses a person's name, or with ``patient`` the name of their record,
    recording a violation on ``check`` when it is missing or bad."""
    if not check.required(field, value):
        return None
    person = Person.parse_patient(value) if patient else Person.parse(value)
    if person is None:
        suffix = " followed by '/patient'" if patient else ""
        check.fail(field, f"must look like {PERSON_PATTERNS}{suffix}, got {value!r}")
    return person
