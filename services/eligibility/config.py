"""Typed settings of the insurance check, from ``VAXBOOK_INSURANCE_*``.

| variable | default |
|---|---|
| ``VAXBOOK_INSURANCE_URL`` | ``http://127.0.0.1:8090`` (the stand-in) |
| ``VAXBOOK_INSURANCE_CONNECT_TIMEOUT_SECONDS`` | ``0.5`` |
| ``VAXBOOK_INSURANCE_READ_TIMEOUT_SECONDS`` | ``1.0`` |
| ``VAXBOOK_INSURANCE_BREAKER_FAIL_MAX`` | ``5`` failures in a row open it |
| ``VAXBOOK_INSURANCE_BREAKER_RESET_SECONDS`` | ``30`` before a trial call |
| ``VAXBOOK_INSURANCE_RETRY_ATTEMPTS`` | ``4`` calls at most |
| ``VAXBOOK_INSURANCE_RETRY_INITIAL_DELAY_SECONDS`` | ``0.5`` |
| ``VAXBOOK_INSURANCE_RETRY_MAX_DELAY_SECONDS`` | ``8`` |
| ``VAXBOOK_INSURANCE_RETRY_MAX_TOTAL_WAIT_SECONDS`` | ``15`` |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.common.config import EnvReader
from services.eligibility.retry import RetrySchedule

_PREFIX = "VAXBOOK_INSURANCE_"


@dataclass(frozen=True)
class InsuranceSettings:
    """Where the insurance API is, how long to wait for it, and when to stop
    calling it."""

    url: str = "http://127.0.0.1:8090"
    connect_timeout_seconds: float = 0.5
    read_timeout_seconds: float = 1.0
    breaker_fail_max: int = 5
    breaker_reset_timeout_seconds: float = 30.0
    retry: RetrySchedule = field(default_factory=RetrySchedule)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> InsuranceSettings:
        env = EnvReader(_PREFIX, environ)
        defaults = cls()
        return cls(
            url=env.text("URL", defaults.url),
            connect_timeout_seconds=env.number(
                "CONNECT_TIMEOUT_SECONDS", defaults.connect_timeout_seconds
            ),
            read_timeout_seconds=env.number(
                "READ_TIMEOUT_SECONDS", defaults.read_timeout_seconds
            ),
            breaker_fail_max=env.whole("BREAKER_FAIL_MAX", defaults.breaker_fail_max),
            breaker_reset_timeout_seconds=env.number(
                "BREAKER_RESET_SECONDS", defaults.breaker_reset_timeout_seconds
            ),
            retry=_retry_from_env(env, defaults.retry),
        )


def _retry_from_env(env: EnvReader, defaults: RetrySchedule) -> RetrySchedule:
    return RetrySchedule(
        max_attempts=env.whole("RETRY_ATTEMPTS", defaults.max_attempts),
        initial_delay_seconds=env.number(
            "RETRY_INITIAL_DELAY_SECONDS", defaults.initial_delay_seconds
        ),
        max_delay_seconds=env.number(
            "RETRY_MAX_DELAY_SECONDS", defaults.max_delay_seconds
        ),
        max_total_wait_seconds=env.number(
            "RETRY_MAX_TOTAL_WAIT_SECONDS", defaults.max_total_wait_seconds
        ),
    )
