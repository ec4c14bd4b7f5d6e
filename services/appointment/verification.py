"""Eligibility inside the booking saga: applying verdicts, the retry queue
with its hold extensions, and reviewers' decisions.

A reservation asks eligibility while its hold is being taken. Eligible
bookings may be confirmed at once; refused ones end REJECTED with every
reason and give their seat and dose back; provisional ones may be confirmed
and wait for a reviewer; the rest wait in the retry queue (rows in RETRYING
with ``next_check_at``), their hold kept alive until a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment.eligibility import (
    PROVISIONAL_REASON,
    EligibilityGate,
    Outcome,
    Verdict,
)
from services.appointment.errors import AppointmentError
from services.appointment.rows import AppointmentRow
from services.appointment.store import AppointmentStore
from services.common import logs
from services.common.clock import Clock, to_timestamp
from services.common.errors import DomainError, NotFound
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import HOLD, SLOT

log = logging.getLogger(__name__)

# A queued check is claimed for this long, so one replica runs it at a time.
CHECK_LEASE_SECONDS = 30.0
CHECK_BATCH = 100
TIMED_OUT = {
    "code": "ELIGIBILITY_UNAVAILABLE",
    "message": (
        "We could not finish checking your eligibility in time, so your seat "
        "has been released. Please try booking again later."
    ),
}

# Ends an appointment and gives its hold back: (row, state, reason, **values).
EndAppointment = Callable[..., Awaitable[AppointmentRow | None]]


class Verification:
    def __init__(
        self,
        store: AppointmentStore,
        gate: EligibilityGate,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        clock: Clock,
        hold_ttl_seconds: int,
        max_wait_seconds: int,
        end: EndAppointment,
    ) -> None:
        self.store = store
        self.gate = gate
        self.inventory = inventory
        self.clock = clock
        self.hold_ttl_seconds = hold_ttl_seconds
        self.max_wait_seconds = max_wait_seconds
        self.end = end

    async def check(self, row: AppointmentRow) -> Verdict:
        return await self.gate.check(row)

    async def apply(self, row: AppointmentRow, verdict: Verdict) -> AppointmentRow:
        """Records ``verdict`` on a PENDING appointment; returns the result."""
        logs.bind(appointment_id=row.id)
        if verdict.outcome is Outcome.ELIGIBLE:
            changed = await self.store.record_pass(row.id, verdict.rules_version)
        elif verdict.outcome is Outcome.NOT_ELIGIBLE:
            changed = await self._reject(row, verdict.reasons, verdict.rules_version)
        elif verdict.outcome is Outcome.PROVISIONAL:
            changed = await self._provisional(row, verdict.rules_version)
        else:
            changed = await self._wait(row, verdict)
        return changed or await self._current(row.id)

    async def recheck_due(self) -> int:
        """Asks eligibility again for every queued booking that is due. Safe
        to run on several replicas: each booking is claimed by one."""
        now = self.clock.now()
        rows = await self.store.claim_due_checks(
            now, now + timedelta(seconds=CHECK_LEASE_SECONDS), CHECK_BATCH
        )
        await asyncio.gather(*(self._recheck(row) for row in rows))
        return len(rows)

    async def open_owed_reviews(self) -> None:
        """Opens review cases that could not be opened when they arose."""
        for row in await self.store.owing_review_case(CHECK_BATCH):
            await self._open_review(row)

    async def resolve_review(
        self, appointment_id: str, approved: bool, note: str
    ) -> AppointmentRow:
        """Applies a reviewer's decision; repeating it changes nothing."""
        logs.bind(appointment_id=appointment_id)
        row = await self._current(appointment_id)
        if not row.review_required:
            return row
        if approved:
            changed = await self.store.transition(
                row.id,
                ("PENDING", "CONFIRMED"),
                review_required=False,
                update_time=self.clock.now(),
            )
            log.info("provisional appointment approved")
        else:
            reason = {"code": "REVIEW_REJECTED", "message": note}
            changed = await self.end(
                row,
                "CANCELLED",
                "REVIEW_REJECTED",
                reasons=[*row.reasons, reason],
                review_required=False,
            )
            log.info("provisional appointment rejected by review")
        return changed or await self._current(row.id)

    async def _recheck(self, row: AppointmentRow) -> None:
        try:
            await self.apply(row, await self.check(row))
        except DomainError as error:
            log.warning("eligibility recheck of %s deferred: %s", row.id, error.reason)

    async def _record(self, row: AppointmentRow, **values) -> AppointmentRow | None:
        """Records a decision on a PENDING appointment; by default it leaves
        the retry queue."""
        values.setdefault("next_check_at", None)
        return await self.store.transition(
            row.id, ("PENDING",), update_time=self.clock.now(), **values
        )

    async def _reject(
        self, row: AppointmentRow, reasons, rules_version: str
    ) -> AppointmentRow | None:
        rejected = await self.end(
            row,
            "REJECTED",
            "NOT_ELIGIBLE",
            eligibility="FAILED",
            reasons=list(reasons),
            rules_version=rules_version,
            next_check_at=None,
        )
        if rejected is not None:
            log.info(
                "appointment rejected",
                extra={"fields": {"reasons": [r["code"] for r in reasons]}},
            )
        return rejected

    async def _provisional(
        self, row: AppointmentRow, rules_version: str
    ) -> AppointmentRow | None:
        marked = await self._record(
            row,
            eligibility="PROVISIONAL",
            review_required=True,
            rules_version=rules_version,
        )
        if marked is not None:
            log.info("appointment allowed provisionally, pending review")
            await self._open_review(marked)
        return marked

    async def _open_review(self, row: AppointmentRow) -> None:
        try:
            await self.gate.open_review(row, PROVISIONAL_REASON)
        except DomainError as error:
            # The repair job opens it later.
            log.warning("review case of %s deferred: %s", row.id, error.reason)
            return
        await self.store.update_fields(row.id, review_opened=True)

    async def _wait(
        self, row: AppointmentRow, verdict: Verdict
    ) -> AppointmentRow | None:
        """Queues the booking for another check, keeping its hold alive as
        if just taken, up to ``max_wait_seconds`` past the first hold."""
        now = self.clock.now()
        next_check_at = now + timedelta(seconds=verdict.retry_delay_seconds)
        deadline = row.create_time + timedelta(
            seconds=self.hold_ttl_seconds + self.max_wait_seconds
        )
        if next_check_at >= deadline:
            return await self._reject(row, (TIMED_OUT,), verdict.rules_version)
        hold_until = min(
            next_check_at + timedelta(seconds=self.hold_ttl_seconds), deadline
        )
        if hold_until > row.hold_expires_at:
            if not await self._extend_hold(row, hold_until):
                return None
        else:
            hold_until = row.hold_expires_at
        attempts = row.eligibility_attempts + (verdict.outcome is Outcome.RETRY)
        log.info(
            "eligibility check queued",
            extra={
                "fields": {"attempt": attempts, "next_check_at": str(next_check_at)}
            },
        )
        return await self._record(
            row,
            eligibility="RETRYING",
            eligibility_attempts=attempts,
            hold_expires_at=hold_until,
            next_check_at=next_check_at,
        )

    async def _extend_hold(self, row: AppointmentRow, hold_until: datetime) -> bool:
        """Moves the hold's expiry; ``False`` when the hold is already gone,
        in which case the appointment ends EXPIRED."""
        try:
            async with upstream("inventory"):
                await self.inventory.ExtendHold(
                    inv.ExtendHoldRequest(
                        name=HOLD.format(clinic=row.clinic_id, hold=row.id),
                        slot=SLOT.format(clinic=row.clinic_id, slot=row.slot_id),
                        vaccine=row.vaccine,
                        expire_time=to_timestamp(hold_until),
                        request_id=f"extend-{row.id}-{hold_until.timestamp()}",
                    ),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
        except DomainError as refusal:
            if refusal.reason != "HOLD_EXPIRED":
                raise
            await self.end(row, "EXPIRED", "HOLD_EXPIRED")
            return False
        return True

    async def _current(self, appointment_id: str) -> AppointmentRow:
        row = await self.store.get(appointment_id)
        if row is None:
            raise NotFound("appointment", f"appointments/{appointment_id}")
        return row


def pending_error(row: AppointmentRow) -> AppointmentError:
    """Why a booking still being checked cannot be confirmed yet."""
    return AppointmentError.eligibility_pending(
        f"appointments/{row.id}", row.next_check_at
    )
