"""The manual review of bookings confirmed while insurance was unverified.

A reviewer's decision is recorded first, then applied: the appointment service
keeps or cancels the appointment (``ResolveReview``). When that call fails the
decision stays recorded and a background job applies it later. Each case has
one decision, so the call carries a request id derived from the case, and the
appointment service carries it out once however often it is sent.
"""

from __future__ import annotations

import dataclasses
import logging

from vaxbook.appointment.v1 import appointment_pb2, appointment_pb2_grpc

from services.common.clock import Clock
from services.common.errors import DomainError, NotFound, Unavailable
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import APPOINTMENT, REVIEW_CASE
from services.eligibility.errors import EligibilityError
from services.eligibility.store import (
    EligibilityStore,
    NewReviewCase,
    ReviewCaseRow,
    ReviewState,
)

log = logging.getLogger(__name__)

# Decisions applied per run of the background job.
APPLY_BATCH_SIZE = 100


class Reviews:
    """Opens, lists and decides review cases, and applies the decisions."""

    def __init__(
        self,
        store: EligibilityStore,
        appointments: appointment_pb2_grpc.AppointmentServiceStub,
        clock: Clock,
    ) -> None:
        self.store = store
        self.appointments = appointments
        self.clock = clock

    async def open(self, new: NewReviewCase) -> ReviewCaseRow:
        """Opens a case; the appointment's existing case when it has one."""
        return await self.store.open_review_case(new, self.clock.now())

    async def list(
        self, state: ReviewState | None, offset: int, limit: int
    ) -> list[ReviewCaseRow]:
        return await self.store.list_review_cases(state, offset, limit)

    async def decide(
        self,
        case_id: str,
        approved: bool,
        reviewer: str,
        note: str,
        timeout_seconds: float,
    ) -> ReviewCaseRow:
        """Records the decision, then applies it. Deciding a case again the
        same way returns it; the other way is refused."""
        name = REVIEW_CASE.format(review_case=case_id)
        wanted = ReviewState.APPROVED if approved else ReviewState.REJECTED
        row = await self.store.decide_review_case(
            case_id, wanted, reviewer, note, self.clock.now()
        )
        if row is None:
            raise NotFound("review_case", name)
        if row.state != wanted:
            raise EligibilityError.review_already_decided(name, row.state)
        if row.decision_applied:
            return row
        return await self.apply(row, timeout_seconds)

    async def apply(self, row: ReviewCaseRow, timeout_seconds: float) -> ReviewCaseRow:
        """Asks the appointment service to carry out the decision. The case
        comes back marked applied when it did; otherwise it is left for the
        job, unless the appointment service refused it for good."""
        fields = {"review_case": row.id, "appointment_id": row.appointment_id}
        try:
            async with upstream("appointment"):
                await self.appointments.ResolveReview(
                    _resolution(row), timeout=timeout_seconds
                )
        except Unavailable:
            log.warning(
                "review decision not applied yet; retrying later",
                extra={"fields": fields},
            )
            return row
        except DomainError as error:
            log.error(
                "appointment service refused a review decision: %s",
                error.reason,
                extra={"fields": {**fields, "reason": error.reason}},
            )
            await self.store.mark_refused(row.id, f"{error.reason}: {error.message}")
            return row
        await self.store.mark_applied(row.id)
        log.info("review decision applied", extra={"fields": fields})
        return dataclasses.replace(row, decision_applied=True)

    async def apply_pending(self) -> int:
        """Applies decisions that have not reached their appointment yet;
        returns how many did now."""
        applied = 0
        for row in await self.store.unapplied_decisions(APPLY_BATCH_SIZE):
            done = await self.apply(row, DEFAULT_TIMEOUT_SECONDS)
            applied += done.decision_applied
        return applied


def _resolution(row: ReviewCaseRow) -> appointment_pb2.ResolveReviewRequest:
    return appointment_pb2.ResolveReviewRequest(
        name=APPOINTMENT.format(appointment=row.appointment_id),
        approved=row.state == ReviewState.APPROVED,
        note=row.note,
        request_id=f"review-decision-{row.id}",
    )
