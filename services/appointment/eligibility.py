"""Asking the eligibility service about a booking, and opening review cases.

A failure to reach eligibility is an answer too: the booking waits and asks
again, within the same bound as an insurance outage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from vaxbook.eligibility.v1 import eligibility_pb2 as elig
from vaxbook.eligibility.v1 import eligibility_pb2_grpc

from services.appointment.rows import AppointmentRow
from services.common.batching import Batcher
from services.common.clock import to_timestamp
from services.common.errors import DomainError
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import APPOINTMENT, Person

log = logging.getLogger(__name__)

# How long to wait before asking again when the eligibility service itself
# did not answer.
UNREACHABLE_RETRY_SECONDS = 2.0
# Why a provisional booking needs a reviewer.
PROVISIONAL_REASON = "INSURANCE_UNAVAILABLE"


class Outcome(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    PROVISIONAL = "PROVISIONAL"
    RETRY = "RETRY"
    # The eligibility service did not answer; ask again later.
    UNREACHABLE = "UNREACHABLE"


_OUTCOMES = {
    elig.OUTCOME_ELIGIBLE: Outcome.ELIGIBLE,
    elig.OUTCOME_NOT_ELIGIBLE: Outcome.NOT_ELIGIBLE,
    elig.OUTCOME_PROVISIONAL: Outcome.PROVISIONAL,
    elig.OUTCOME_RETRY: Outcome.RETRY,
}


@dataclass(frozen=True)
class Verdict:
    """What eligibility said about one booking."""

    outcome: Outcome
    reasons: tuple[dict[str, str], ...] = ()
    rules_version: str = ""
    retry_delay_seconds: float = 0.0


class EligibilityGate:
    """The appointment service's client of the eligibility service.

    Concurrent checks travel together in ``BatchCheckEligibility`` calls, as
    holds do, so a surge of reservations pays for few round trips."""

    def __init__(
        self,
        eligibility: eligibility_pb2_grpc.EligibilityServiceStub,
        call_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.eligibility = eligibility
        self.call_timeout_seconds = call_timeout_seconds
        self._batcher = Batcher(self._send)

    async def check(self, row: AppointmentRow) -> Verdict:
        """The verdict on ``row``'s booking; never raises."""
        try:
            decision = await self._batcher.submit(_request(row))
        except DomainError as error:
            log.warning("eligibility check deferred: %s", error.reason)
            return Verdict(
                Outcome.UNREACHABLE, retry_delay_seconds=UNREACHABLE_RETRY_SECONDS
            )
        return Verdict(
            outcome=_OUTCOMES.get(decision.outcome, Outcome.UNREACHABLE),
            reasons=tuple(
                {"code": failure.code, "message": failure.message}
                for failure in decision.failures
            ),
            rules_version=decision.rules_version,
            retry_delay_seconds=decision.retry_delay.ToTimedelta().total_seconds()
            or UNREACHABLE_RETRY_SECONDS,
        )

    async def _send(
        self, requests: list[elig.CheckEligibilityRequest]
    ) -> list[elig.EligibilityDecision]:
        async with upstream("eligibility"):
            response = await self.eligibility.BatchCheckEligibility(
                elig.BatchCheckEligibilityRequest(requests=requests),
                timeout=self.call_timeout_seconds,
            )
        return list(response.decisions)

    async def open_review(self, row: AppointmentRow, reason: str) -> None:
        """Opens the review case of a provisional booking; raises a
        ``DomainError`` when the eligibility service cannot take it now."""
        async with upstream("eligibility"):
            await self.eligibility.CreateReviewCase(
                elig.CreateReviewCaseRequest(
                    review_case=elig.ReviewCase(
                        appointment=APPOINTMENT.format(appointment=row.id),
                        patient=Person.from_key(row.citizen_id).patient_name,
                        vaccine=row.vaccine,
                        dose_number=row.dose_number,
                        reason=reason,
                        rules_version=row.rules_version,
                    ),
                    request_id=f"review-{row.id}",
                ),
                timeout=self.call_timeout_seconds,
            )


def _request(row: AppointmentRow) -> elig.CheckEligibilityRequest:
    return elig.CheckEligibilityRequest(
        patient=Person.from_key(row.citizen_id).patient_name,
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        appointment_time=to_timestamp(row.slot_start),
        previous_attempts=row.eligibility_attempts,
    )
