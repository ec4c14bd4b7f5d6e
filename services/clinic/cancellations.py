"""What follows when a clinic cancels slots or loses doses.

A cancelled slot is closed in inventory first, so no new hold can take it;
only then does the appointment service cancel what the slot holds, since
every appointment with a hold was recorded before its hold was taken. The
slot stays marked as owing that cancellation until the appointment service
answers, and a job finishes what a failed call left.

Doses are lost by an adjustment staff make, or when a batch expires: the
``batch-expirer`` job has inventory expire the day's batches, and each
adjustment that leaves confirmed appointments without a dose is settled as a
staff adjustment is, recorded as owed first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from vaxbook.appointment.v1 import appointment_pb2, appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as pb
from vaxbook.inventory.v1 import inventory_pb2, inventory_pb2_grpc

from services.clinic.store import AdjustmentRow, ClinicStore, SlotRow
from services.common import logs
from services.common.clock import Clock
from services.common.errors import DomainError, Unavailable
from services.common.grpc_clients import upstream
from services.common.names import CLINIC, SLOT

log = logging.getLogger(__name__)

# Cancelling a busy day means an offer search per appointment: more than the
# usual call deadline, unless the caller set a shorter one.
CANCEL_TIMEOUT_SECONDS = 60.0
SETTLE_BATCH = 20
# An expiry pass is no one's adjustment: the clinic service's own.
EXPIRER_ACTOR = "batch-expirer"


def cancel_timeout(context: grpc.aio.ServicerContext) -> float:
    """What the caller has left, or ``CANCEL_TIMEOUT_SECONDS``."""
    remaining = context.time_remaining()
    if remaining is None:
        return CANCEL_TIMEOUT_SECONDS
    return max(0.05, remaining - 0.05)


@dataclass(frozen=True)
class Outcome:
    appointments: int = 0
    offers: int = 0


class Cancellations:
    def __init__(
        self,
        store: ClinicStore,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        appointments: appointment_pb2_grpc.AppointmentServiceStub,
        clock: Clock,
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.appointments = appointments
        self.clock = clock

    async def count(self, rows: list[SlotRow], reason: str, call_timeout: float) -> int:
        """How many live appointments cancelling ``rows`` would end."""
        total = 0
        for row in rows:
            slot = SLOT.format(clinic=row.clinic_id, slot=row.id)
            async with upstream("appointment"):
                answer = await self.appointments.CancelSlotAppointments(
                    appointment_pb2.CancelSlotAppointmentsRequest(
                        slot=slot,
                        note=reason,
                        validate_only=True,
                        request_id=f"count-{row.id}",
                    ),
                    timeout=call_timeout,
                )
            total += len(answer.appointments)
        return total

    async def settle(self, rows: list[SlotRow], call_timeout: float) -> Outcome:
        """Closes each cancelled slot and cancels its appointments."""
        outcome = Outcome()
        for row in rows:
            done = await self._settle_one(row, call_timeout)
            outcome = Outcome(
                outcome.appointments + done.appointments, outcome.offers + done.offers
            )
        return outcome

    async def settle_owed(self) -> int:
        """The job: finishes the cancellations a failed call left owing."""
        rows = await self.store.owing_cancellations(SETTLE_BATCH)
        for row in rows:
            try:
                await self._settle_one(row, CANCEL_TIMEOUT_SECONDS)
            except DomainError as error:
                log.warning(
                    "cancellation of slot %s deferred: %s", row.id, error.reason
                )
        return len(rows)

    async def _settle_one(self, row: SlotRow, call_timeout: float) -> Outcome:
        slot = SLOT.format(clinic=row.clinic_id, slot=row.id)
        logs.bind(slot=slot)
        async with upstream("inventory"):
            await self.inventory.CloseSlot(
                inventory_pb2.CloseSlotRequest(slot=slot, request_id=f"close-{row.id}"),
                timeout=call_timeout,
            )
        async with upstream("appointment"):
            answer = await self.appointments.CancelSlotAppointments(
                appointment_pb2.CancelSlotAppointmentsRequest(
                    slot=slot,
                    note=row.cancel_reason or "",
                    request_id=f"cancel-{row.id}",
                ),
                timeout=call_timeout,
            )
        await self.store.cancellations_settled(row.clinic_id, row.id)
        log.info(
            "slot cancelled",
            extra={"fields": {"appointments": len(answer.appointments)}},
        )
        return Outcome(len(answer.appointments), answer.rebooking_offers)

    async def adjust_doses(
        self, row: AdjustmentRow, now: datetime, call_timeout: float
    ) -> pb.AdjustDoseStockResponse:
        """Records the adjustment as owed, then in inventory, then cancels the
        confirmed appointments the new stock cannot cover. Each step is
        idempotent: a retry with the same request id, or the settle job,
        finishes what a failed call left."""
        owed = await self.store.owe_adjustment(row, now)
        try:
            return await self._settle_adjustment(owed, call_timeout)
        except Unavailable:
            raise
        except DomainError:
            # Refused (stock would go negative...): nothing is left to do.
            await self.store.adjustment_settled(owed.request_id)
            raise

    async def settle_owed_adjustments(self) -> int:
        """The job: finishes the adjustments a failed call left owing."""
        rows = await self.store.owing_adjustments(SETTLE_BATCH)
        for row in rows:
            await self._settle_or_defer(row)
        return len(rows)

    async def expire_batches(self) -> int:
        """The job: has inventory expire the batches past their last day, and
        cancels the confirmed appointments the doses they took leave without
        one; returns how many batches today's pass has expired.

        A pass repeats safely: inventory answers the day's request id with
        the batches expired under it, and an adjustment already recorded here
        is left to the ``adjustment-settler`` job, which also finishes one
        whose calls failed.
        """
        today = self.clock.now().astimezone(UTC).date().isoformat()
        try:
            async with upstream("inventory"):
                answer = await self.inventory.ExpireBatches(
                    inventory_pb2.ExpireBatchesRequest(
                        today=today, request_id=f"expire-batches-{today}"
                    ),
                    timeout=CANCEL_TIMEOUT_SECONDS,
                )
        except DomainError as error:
            # Unanswered, or refused (a clock ahead of inventory's): next pass.
            log.warning("batch expiry deferred: %s", error.reason)
            return 0
        for adjustment in answer.adjustments:
            if adjustment.shortfall:
                await self._settle_expiry(adjustment)
        return len(answer.expired)

    async def _settle_expiry(self, adjustment: inventory_pb2.DoseAdjustment) -> None:
        row = AdjustmentRow(
            request_id=adjustment.request_id,
            clinic_id=CLINIC.parse(adjustment.clinic)["clinic"],
            vaccine=adjustment.vaccine,
            delta=adjustment.delta,
            reason=adjustment.reason,
            actor=EXPIRER_ACTOR,
        )
        if await self.store.owe_new_adjustment(row, self.clock.now()):
            await self._settle_or_defer(row)

    async def _settle_or_defer(self, row: AdjustmentRow) -> None:
        """Settles an owed adjustment, or leaves it owed when a service does
        not answer; a refused one is settled with nothing more to do."""
        logs.bind(request_id=row.request_id)
        try:
            await self._settle_adjustment(row, CANCEL_TIMEOUT_SECONDS)
        except Unavailable as error:
            log.warning("dose adjustment deferred: %s", error.reason)
        except DomainError as error:
            log.warning("dose adjustment refused: %s", error.reason)
            await self.store.adjustment_settled(row.request_id)

    async def _settle_adjustment(
        self, row: AdjustmentRow, call_timeout: float
    ) -> pb.AdjustDoseStockResponse:
        clinic = CLINIC.format(clinic=row.clinic_id)
        async with upstream("inventory"):
            adjustment = await self.inventory.AdjustDoseStock(
                inventory_pb2.AdjustDoseStockRequest(
                    clinic=clinic,
                    vaccine=row.vaccine,
                    delta=row.delta,
                    reason=row.reason,
                    request_id=row.request_id,
                    actor=row.actor,
                ),
                timeout=call_timeout,
            )
        response = pb.AdjustDoseStockResponse(
            old_doses=adjustment.old_doses,
            new_doses=adjustment.new_doses,
            shortfall=adjustment.shortfall,
        )
        # A later adjustment of the same stock judged the shortfall anew, on
        # a stock that counts this one: this one's target is out of date.
        if adjustment.shortfall and not await self.store.superseded(row.request_id):
            async with upstream("appointment"):
                answer = await self.appointments.CancelForDoseShortfall(
                    appointment_pb2.CancelForDoseShortfallRequest(
                        clinic=clinic,
                        vaccine=row.vaccine,
                        doses=adjustment.new_doses,
                        note=adjustment.reason,
                        request_id=f"shortfall-{row.request_id}",
                    ),
                    timeout=call_timeout,
                )
            response.cancelled_appointments.extend(answer.appointments)
            response.rebooking_offers = answer.rebooking_offers
            log.info(
                "dose shortfall: appointments cancelled",
                extra={"fields": {"appointments": len(answer.appointments)}},
            )
        await self.store.adjustment_settled(row.request_id)
        return response
