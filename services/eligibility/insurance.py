"""The external insurance API, called over HTTP behind a circuit breaker.

``GET {url}/v1/coverage/{citizen_ref}`` answers ``{"active": true|false}``.
A timeout, a refused connection, a non-200 answer or a malformed body counts as
a failure; ``breaker_fail_max`` failures in a row open the breaker, and while
it is open no call is made at all. After ``breaker_reset_timeout_seconds`` one
trial call decides whether it closes again. Every failure, and an open breaker,
reads as :attr:`InsuranceStatus.UNAVAILABLE`; policy decides what follows.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import httpx
import pybreaker

from services.common.errors import Unavailable
from services.eligibility.config import InsuranceSettings
from services.eligibility.evaluation import InsuranceStatus

log = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and coverage URLs carry citizen refs.
logging.getLogger("httpx").setLevel(logging.WARNING)

BREAKER_NAME = "insurance"


class BreakerStateLog(pybreaker.CircuitBreakerListener):
    """Logs each change of breaker state as a warning, with no request data."""

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        previous = old_state.name if old_state is not None else ""
        log.warning(
            "circuit breaker %s went from %s to %s",
            cb.name,
            previous,
            new_state.name,
            extra={
                "fields": {
                    "breaker": cb.name,
                    "previous_state": previous,
                    "state": new_state.name,
                }
            },
        )


def make_breaker(settings: InsuranceSettings) -> pybreaker.CircuitBreaker:
    """The breaker guarding the insurance API, logging its state changes."""
    return pybreaker.CircuitBreaker(
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_timeout_seconds,
        listeners=[BreakerStateLog()],
        name=BREAKER_NAME,
    )


class InsuranceClient:
    """Asks the insurance API whether a citizen's cover is active."""

    def __init__(
        self,
        settings: InsuranceSettings,
        *,
        breaker: pybreaker.CircuitBreaker | None = None,
    ) -> None:
        self.settings = settings
        self.breaker = breaker or make_breaker(settings)
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            timeout=httpx.Timeout(
                settings.read_timeout_seconds,
                connect=settings.connect_timeout_seconds,
            ),
        )
        self._trial_lock = asyncio.Lock()

    async def __aenter__(self) -> InsuranceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def breaker_state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        return self.breaker.current_state

    async def coverage(self, citizen_ref: str) -> InsuranceStatus:
        """Active or not active; unavailable when the call fails or the breaker
        is open. Never raises for a failing API."""
        try:
            return await self._guarded(citizen_ref)
        except (pybreaker.CircuitBreakerError, httpx.HTTPError, Unavailable) as error:
            log.debug("insurance check unavailable: %s", type(error).__name__)
            return InsuranceStatus.UNAVAILABLE

    async def _guarded(self, citizen_ref: str) -> InsuranceStatus:
        if self.breaker.current_state == pybreaker.STATE_CLOSED:
            return await self._through_breaker(citizen_ref)
        # pybreaker lets every caller through while half-open; one trial at a
        # time is enough, and the others then see the trial's verdict.
        async with self._trial_lock:
            return await self._through_breaker(citizen_ref)

    async def _through_breaker(self, citizen_ref: str) -> InsuranceStatus:
        with self.breaker.calling():
            return await self._fetch(citizen_ref)

    async def _fetch(self, citizen_ref: str) -> InsuranceStatus:
        response = await self._http.get(f"/v1/coverage/{quote(citizen_ref, safe='')}")
        if response.status_code != httpx.codes.OK:
            raise Unavailable(
                "INSURANCE_UNAVAILABLE",
                f"the insurance API answered HTTP {response.status_code}",
            )
        try:
            active = response.json()["active"]
        except (ValueError, KeyError, TypeError):
            active = None
        if not isinstance(active, bool):
            raise Unavailable(
                "INSURANCE_UNAVAILABLE", "the insurance API sent a malformed answer"
            )
        return InsuranceStatus.ACTIVE if active else InsuranceStatus.NOT_ACTIVE
