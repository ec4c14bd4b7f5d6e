"""Eligibility rules as data: the versioned rule file, its validation, and the
rule book that holds the rule set in force.

A rule file is JSON: a ``version``, a default ``insurance_unavailable_policy``
and one entry per vaccine code under ``vaccines``. Every problem is reported as
an :class:`EligibilityError` whose message names the key at fault, for example
``vaccines.spikevax.min_age_years: must be a whole number, got 'adult'``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from services.eligibility.errors import EligibilityError

DEFAULT_RULES_FILE = "v1.json"
SHIPPED_RULES_SOURCE = f"rules/{DEFAULT_RULES_FILE}"

_CODE = re.compile(r"^[a-z][a-z0-9_-]*$")
_TOP_KEYS = {"version", "insurance_unavailable_policy", "vaccines"}
_VACCINE_KEYS = {
    "name",
    "min_age_years",
    "max_age_years",
    "regions",
    "contraindicated_allergies",
    "max_doses",
    "min_interval_days",
    "max_interval_days",
    "insurance_required",
    "guardian_consent_under_years",
    "insurance_unavailable_policy",
}
_OPTIONAL_KEYS = {"insurance_unavailable_policy"}


class OutagePolicy(StrEnum):
    """What a check does when the insurance API cannot answer."""

    RETRY = "retry"
    PROVISIONAL = "provisional"


@dataclass(frozen=True)
class VaccineRule:
    """Who may have one vaccine. ``None`` limits mean "no limit"; ``regions``
    of ``None`` means every region."""

    code: str
    name: str
    min_age_years: int
    max_age_years: int | None
    regions: frozenset[str] | None
    contraindicated_allergies: frozenset[str]
    max_doses: int
    min_interval_days: int
    max_interval_days: int | None
    insurance_required: bool
    guardian_consent_under_years: int | None
    insurance_unavailable_policy: OutagePolicy


@dataclass(frozen=True)
class RuleSet:
    """One version of the rules, for every vaccine."""

    version: str
    vaccines: Mapping[str, VaccineRule]


class RuleBook:
    """The rule set in force. :meth:`replace` swaps it in one assignment, so a
    check that read :attr:`current` once uses one version throughout."""

    def __init__(self, rules: RuleSet) -> None:
        self._current = rules

    @property
    def current(self) -> RuleSet:
        return self._current

    def replace(self, rules: RuleSet) -> RuleSet:
        """Puts ``rules`` in force and returns the rule set it replaced."""
        previous, self._current = self._current, rules
        return previous


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Reads and validates a rule file; by default the one shipped in the package."""
    if path is None:
        return parse_rules_text(shipped_rules_text(), SHIPPED_RULES_SOURCE)
    return parse_rules_text(Path(path).read_text(encoding="utf-8"), str(path))


def shipped_rules_text() -> str:
    """The text of the rule file shipped in the package."""
    packaged = resources.files("services.eligibility") / "rules"
    return packaged.joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def parse_rules_text(text: str, source: str) -> RuleSet:
    """Validates rules given as JSON text, for example from an admin upload."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise EligibilityError.rules_invalid(
            source, "(file)", f"not valid JSON: {error}"
        ) from None
    return parse_rules(data, source)


def parse_rules(data: object, source: str = "(memory)") -> RuleSet:
    """Validates decoded rules; the error names the first bad key."""
    top = _Reader(source, "", data)
    top.only(_TOP_KEYS, optional={"insurance_unavailable_policy"})
    version = top.text("version")
    default_policy = top.policy(
        "insurance_unavailable_policy", OutagePolicy.PROVISIONAL
    )
    vaccines = _Reader(source, "vaccines", top.get("vaccines"))
    if not vaccines.data:
        raise vaccines.problem("", "must name at least one vaccine")
    rules = {
        code: _vaccine_rule(vaccines.child(code), code, default_policy)
        for code in vaccines.data
    }
    return RuleSet(version=version, vaccines=MappingProxyType(rules))


def _vaccine_rule(
    reader: _Reader, code: str, default_policy: OutagePolicy
) -> VaccineRule:
    if not _CODE.match(code):
        raise reader.problem("", "vaccine codes are lower case letters, digits, - or _")
    reader.only(_VACCINE_KEYS, optional=_OPTIONAL_KEYS)
    rule = VaccineRule(
        code=code,
        name=reader.text("name"),
        min_age_years=reader.whole("min_age_years"),
        max_age_years=reader.whole_or_none("max_age_years"),
        regions=reader.regions("regions"),
        contraindicated_allergies=frozenset(reader.words("contraindicated_allergies")),
        max_doses=reader.whole("max_doses", minimum=1),
        min_interval_days=reader.whole("min_interval_days"),
        max_interval_days=reader.whole_or_none("max_interval_days", minimum=1),
        insurance_required=reader.flag("insurance_required"),
        guardian_consent_under_years=reader.whole_or_none(
            "guardian_consent_under_years", minimum=1
        ),
        insurance_unavailable_policy=reader.policy(
            "insurance_unavailable_policy", default_policy
        ),
    )
    _check_ranges(reader, rule)
    return rule


def _check_ranges(reader: _Reader, rule: VaccineRule) -> None:
    if rule.max_age_years is not None and rule.max_age_years < rule.min_age_years:
        raise reader.problem("max_age_years", "must not be below min_age_years")
    too_short = (
        rule.max_interval_days is not None
        and rule.max_interval_days < rule.min_interval_days
    )
    if too_short:
        raise reader.problem("max_interval_days", "must not be below min_interval_days")


class _Reader:
    """Reads typed values out of one JSON object, naming the key on failure."""

    def __init__(self, source: str, path: str, data: object) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            raise self.problem("", f"must be an object, got {_kind(data)}")
        self.data: dict[str, object] = data

    def problem(self, key: str, what: str) -> EligibilityError:
        name = ".".join(part for part in (self.path, key) if part) or "(top level)"
        return EligibilityError.rules_invalid(self.source, name, what)

    def child(self, key: str) -> _Reader:
        return _Reader(self.source, f"{self.path}.{key}", self.get(key))

    def only(self, allowed: set[str], optional: set[str]) -> None:
        for key in sorted(set(self.data) - allowed):
            raise self.problem(key, "unknown key")
        for key in sorted(allowed - optional - set(self.data)):
            raise self.problem(key, "missing")

    def get(self, key: str) -> object:
        if key not in self.data:
            raise self.problem(key, "missing")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.problem(key, f"must be a non-empty string, got {value!r}")
        return value

    def whole(self, key: str, minimum: int = 0) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.problem(key, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.problem(key, f"must be at least {minimum}, got {value}")
        return value

    def whole_or_none(self, key: str, minimum: int = 0) -> int | None:
        return None if self.get(key) is None else self.whole(key, minimum)

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.problem(key, f"must be true or false, got {value!r}")
        return value

    def words(self, key: str) -> list[str]:
        value = self.get(key)
        good = isinstance(value, list) and all(
            isinstance(item, str) and item.strip() for item in value
        )
        if not good:
            raise self.problem(
                key, f"must be a list of non-empty strings, got {value!r}"
            )
        return [item.strip().lower() for item in value]

    def regions(self, key: str) -> frozenset[str] | None:
        if self.get(key) == "all":
            return None
        regions = frozenset(self.words(key))
        if not regions:
            raise self.problem(key, 'must list at least one region, or be "all"')
        return regions

    def policy(self, key: str, default: OutagePolicy) -> OutagePolicy:
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return OutagePolicy(value)
        except ValueError:
            allowed = " or ".join(repr(p.value) for p in OutagePolicy)
            raise self.problem(key, f"must be {allowed}, got {value!r}") from None


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
