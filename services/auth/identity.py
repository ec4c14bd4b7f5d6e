"""National IDs and contacts: validating, hashing and masking them.

The raw national ID lives only in memory while a request is served. What is
stored and compared is its keyed hash, so a copy of the database alone does not
give the IDs away.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Protocol

from stdnum.exceptions import ValidationError
from stdnum.in_ import aadhaar

from services.common.validation import Checker

MAX_EMAIL_LENGTH = 254
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NationalIdScheme(Protocol):
    """A country's national ID format."""

    def validate(self, raw: str) -> str:
        """The normalized ID; raises ``ValueError`` with a sentence saying
        what is wrong with ``raw`` (without quoting it)."""
        ...


class AadhaarScheme:
    """India's Aadhaar: 12 digits, the last a Verhoeff check digit."""

    def validate(self, raw: str) -> str:
        try:
            return aadhaar.validate(raw)
        except ValidationError:
            raise ValueError(_aadhaar_problem(aadhaar.compact(raw))) from None


def _aadhaar_problem(digits: str) -> str:
    if not digits.isdigit() or len(digits) != 12:
        return "must be 12 digits"
    if digits[0] in "01":
        return "must not start with 0 or 1"
    if digits == digits[::-1]:
        return "must not read the same backwards as forwards"
    return "has a wrong check digit; check the number for a typing mistake"


def check_national_id(
    check: Checker, field: str, raw: str, scheme: NationalIdScheme
) -> str:
    """The normalized ID; records a violation naming ``field`` when it is bad."""
    if not check.required(field, raw):
        return ""
    try:
        return scheme.validate(raw)
    except ValueError as error:
        check.fail(field, f"is not a valid national ID: it {error}")
        return ""


class Hasher:
    """Keyed HMAC-SHA256 hashes, separated by purpose."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __repr__(self) -> str:
        return "Hasher(key=...)"

    def national_id(self, normalized: str) -> str:
        return self._hash("national-id", normalized)

    def code(self, challenge_id: str, code: str) -> str:
        return self._hash(f"code:{challenge_id}", code)

    def _hash(self, purpose: str, value: str) -> str:
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Contact:
    """Where one-time codes are sent: ``kind`` is 'phone' or 'email'."""

    kind: str
    address: str

    def masked(self) -> str:
        """The address with all but enough to recognise it hidden."""
        if self.kind == "phone":
            return "*" * (len(self.address) - 4) + self.address[-4:]
        local, domain = self.address.split("@", 1)
        return f"{local[0]}***@{domain}"


def check_contact(check: Checker, field: str, contact) -> Contact | None:
    """The contact of a ``Contact`` message; records a violation when bad."""
    which = contact.WhichOneof("destination")
    if which == "phone_number":
        if _PHONE.match(contact.phone_number):
            return Contact("phone", contact.phone_number)
        check.fail(
            f"{field}.phone_number", "must be in E.164 form, for example +919876543210"
        )
    elif which == "email":
        address = contact.email
        if len(address) <= MAX_EMAIL_LENGTH and _EMAIL.match(address):
            return Contact("email", address.lower())
        check.fail(
            f"{field}.email", "must be an e-mail address, for example asha@example.org"
        )
    else:
        check.fail(field, "needs a phone_number or an email")
    return None
