"""Request checks that collect every bad field before failing once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import FieldViolation, InvalidArgument

_ID = r"[a-z0-9][a-z0-9-]{0,62}"
# PostgreSQL text cannot hold NUL, and no field has a use for control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_REQUEST_ID_LENGTH = 128


class Resource:
    """A resource-name pattern such as ``clinics/{clinic}/slots/{slot}``.

    Each id is lower-case letters, digits and ``-`` unless ``ids`` gives its
    own regular expression, as for an id printed on something real.
    """

    def __init__(self, pattern: str, **ids: str) -> None:
        self.pattern = pattern
        regex = re.sub(
            r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{ids.get(m[1], _ID)})", pattern
        )
        self._regex = re.compile(f"^{regex}$")

    def parse(self, name: str) -> dict[str, str] | None:
        match = self._regex.match(name)
        return match.groupdict() if match else None

    def format(self, **ids: str) -> str:
        return self.pattern.format(**ids)


class Checker:
    """Collects field violations; :meth:`done` raises them all together."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def required(self, field: str, value: object) -> bool:
        if value in ("", 0, None) or (isinstance(value, list | tuple) and not value):
            self.fail(field, "is required")
            return False
        return True

    def text(
        self, field: str, value: str, max_length: int, *, required: bool = True
    ) -> None:
        """A free-text field: present when required, at most ``max_length``
        chars, and without control characters."""
        if not value:
            if required:
                self.fail(field, "is required")
        elif len(value) > max_length:
            self.fail(field, f"must be at most {max_length} chars")
        elif _CONTROL.search(value):
            self.fail(field, "must not contain control characters")

    def day(self, field: str, value: str, *, required: bool = True) -> date | None:
        """A day written ``YYYY-MM-DD``; ``None`` when absent or bad."""
        if not value:
            if required:
                self.fail(field, "is required")
            return None
        if not _DAY.fullmatch(value):
            self.fail(field, f"must be a day as YYYY-MM-DD, got {value!r}")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, f"is not a real date, got {value!r}")
            return None

    def request_id(self, value: str) -> None:
        self.text("request_id", value, MAX_REQUEST_ID_LENGTH)

    def timestamp(self, field: str, stamp: Timestamp) -> datetime | None:
        """The time ``stamp`` stands for; ``None`` when it is out of range."""
        try:
            return stamp.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            self.fail(field, "must be a valid time between years 1 and 9999")
            return None

    def name(self, field: str, value: str, resource: Resource) -> dict[str, str]:
        """Parses a resource name; an empty dict when it is missing or bad."""
        if not self.required(field, value):
            return {}
        ids = resource.parse(value)
        if ids is None:
            self.fail(field, f"must look like {resource.pattern!r}, got {value!r}")
            return {}
        return ids

    def between(self, field: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}, got {value}")

    def done(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)


@contextmanager
def checking() -> Iterator[Checker]:
    """``with checking() as check: ...`` raises every violation at the end."""
    checker = Checker()
    yield checker
    checker.done()
