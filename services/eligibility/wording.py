"""How dates, dose numbers and lists read in sentences for citizens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def long_date(day: date) -> str:
    """``14 March 2027``, whatever the process locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def ordinal(number: int) -> str:
    """``second`` for 2; ``11th``, ``22nd`` past ten."""
    if 1 <= number <= len(_ORDINALS):
        return _ORDINALS[number - 1]
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{_SUFFIXES.get(number % 10, 'th')}"


def joined(items: Iterable[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``, in sorted order."""
    words = sorted(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"
