"""The languages a citizen may choose for what vaxbook sends them.

The notification service has every template in each of these languages, and
the auth service accepts no other preference.
"""

from __future__ import annotations

from services.common.validation import Checker

# BCP 47 language codes: English and Hindi.
SUPPORTED_LANGUAGES = ("en", "hi")
DEFAULT_LANGUAGE = "en"
# How much of a refused value the violation quotes.
MAX_SHOWN_LENGTH = 35


def check_language(check: Checker, field: str, value: str) -> str:
    """The supported language ``value`` names, lower-cased; the default when
    it is empty. Records a violation naming ``field`` otherwise."""
    if not value:
        return DEFAULT_LANGUAGE
    code = value.lower()
    if code not in SUPPORTED_LANGUAGES:
        choices = ", ".join(repr(language) for language in SUPPORTED_LANGUAGES)
        shown = value[:MAX_SHOWN_LENGTH]
        check.fail(field, f"must be one of {choices}, got {shown!r}")
        return DEFAULT_LANGUAGE
    return code
