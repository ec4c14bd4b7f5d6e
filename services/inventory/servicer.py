"""gRPC transport of the inventory service: protos in, protos out."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

from vaxbook.inventory.v1 import inventory_pb2 as pb
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.common import paging
from services.common.auth import PUBLIC, Role, current_principal, require_clinic
from services.common.clock import to_timestamp
from services.common.errors import DomainError, to_status_proto
from services.common.names import (
    APPOINTMENT,
    BATCH,
    BATCH_NUMBER,
    CLINIC,
    HOLD,
    SLOT,
)
from services.common.validation import Checker, checking
from services.inventory.batch_store import BatchRow, DoseUseRow
from services.inventory.batches import Batches
from services.inventory.inventory import Inventory
from services.inventory.redis_gate import Counters
from services.inventory.store import Adjustment, HoldRow

# A rebooking offer holds its seat for days; a booking's hold for minutes,
# extended an hour at most at a time while eligibility waits.
MAX_TTL_SECONDS = 7 * 24 * 3600
MAX_EXTENSION_SECONDS = 3600
MAX_REASON_LENGTH = 500
MAX_ACTOR_LENGTH = 200
MAX_BATCH = 500
VACCINE_MAX_LENGTH = 64
MAX_BATCH_DOSES = 1_000_000
_BATCH_ID = re.compile(BATCH_NUMBER)


SERVICE = pb.DESCRIPTOR.services_by_name["InventoryService"].full_name
_OPERATORS = {Role.ADMIN, Role.SERVICE}
# Staff act only for their own clinics: the RPCs check the clinic.
_STAFF_AND_SERVICES = {Role.SERVICE, Role.CLINIC_STAFF}
# Who may call each RPC: holds are taken only by the appointment service.
ACCESS_POLICY = {
    f"/{SERVICE}/SetSlotCapacity": _OPERATORS,
    f"/{SERVICE}/SetDoseStock": _OPERATORS,
    f"/{SERVICE}/GetAvailability": PUBLIC,
    f"/{SERVICE}/CreateHold": {Role.SERVICE},
    f"/{SERVICE}/BatchCreateHolds": {Role.SERVICE},
    f"/{SERVICE}/CommitHold": {Role.SERVICE},
    f"/{SERVICE}/BatchCommitHolds": {Role.SERVICE},
    f"/{SERVICE}/ExtendHold": {Role.SERVICE},
    f"/{SERVICE}/ReleaseHold": {Role.SERVICE},
    f"/{SERVICE}/CloseSlot": _OPERATORS,
    f"/{SERVICE}/AdjustDoseStock": {Role.SERVICE},
    f"/{SERVICE}/ReceiveBatch": _STAFF_AND_SERVICES,
    f"/{SERVICE}/GetBatch": _STAFF_AND_SERVICES,
    f"/{SERVICE}/ListBatches": _STAFF_AND_SERVICES,
    f"/{SERVICE}/ExpireBatches": {Role.SERVICE},
    f"/{SERVICE}/ConsumeDose": {Role.SERVICE},
}


class InventoryServicer(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(self, inventory: Inventory, batches: Batches) -> None:
        self.inventory = inventory
        self.batches = batches

    async def SetSlotCapacity(self, request, context) -> pb.Availability:
        with checking() as check:
            ids = check.name("slot", request.slot, SLOT)
            check.between("capacity", request.capacity, 1, 1_000_000)
            check.request_id(request.request_id)
        await self.inventory.set_capacity(
            ids["clinic"], ids["slot"], request.capacity, request.request_id
        )
        counters = await self.inventory.availability(ids["clinic"], ids["slot"], "")
        return _availability(request.slot, "", counters)

    async def SetDoseStock(self, request, context) -> pb.Availability:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            _check_vaccine(check, request.vaccine)
            check.between("doses", request.doses, 0, 10_000_000)
            check.request_id(request.request_id)
        await self.inventory.set_doses(
            ids["clinic"], request.vaccine, request.doses, request.request_id
        )
        return pb.Availability(
            vaccine=request.vaccine,
            doses=pb.Counts(total=request.doses),
        )

    async def GetAvailability(self, request, context) -> pb.Availability:
        with checking() as check:
            ids = check.name("slot", request.slot, SLOT)
            if request.vaccine:
                _check_vaccine(check, request.vaccine)
        counters = await self.inventory.availability(
            ids["clinic"], ids["slot"], request.vaccine
        )
        return _availability(request.slot, request.vaccine, counters)

    async def CreateHold(self, request, context) -> pb.Hold:
        return await self._create_hold(request)

    async def BatchCreateHolds(self, request, context) -> pb.BatchCreateHoldsResponse:
        with checking() as check:
            check.between("requests", len(request.requests), 1, MAX_BATCH)
        outcomes = await asyncio.gather(
            *(self._create_hold(one) for one in request.requests),
            return_exceptions=True,
        )
        return pb.BatchCreateHoldsResponse(
            results=[_hold_result(outcome) for outcome in outcomes]
        )

    async def _create_hold(self, request: pb.CreateHoldRequest) -> pb.Hold:
        with checking() as check:
            ids = check.name("slot", request.slot, SLOT)
            _check_vaccine(check, request.vaccine)
            if check.required("hold_id", request.hold_id) and not HOLD.parse(
                HOLD.format(clinic="c", hold=request.hold_id)
            ):
                check.fail("hold_id", "must be letters, digits and '-', 1-63 chars")
            check.between("ttl_seconds", request.ttl_seconds, 1, MAX_TTL_SECONDS)
            check.request_id(request.request_id)
        hold = await self.inventory.create_hold(
            ids["clinic"],
            ids["slot"],
            request.vaccine,
            request.hold_id,
            request.ttl_seconds,
        )
        return _hold(hold)

    async def CommitHold(self, request, context) -> pb.Hold:
        return await self._commit_hold(request)

    async def BatchCommitHolds(self, request, context) -> pb.BatchCommitHoldsResponse:
        with checking() as check:
            check.between("requests", len(request.requests), 1, MAX_BATCH)
        outcomes = await asyncio.gather(
            *(self._commit_hold(one) for one in request.requests),
            return_exceptions=True,
        )
        return pb.BatchCommitHoldsResponse(
            results=[_hold_result(outcome) for outcome in outcomes]
        )

    async def _commit_hold(self, request: pb.CommitHoldRequest) -> pb.Hold:
        with checking() as check:
            ids = check.name("name", request.name, HOLD)
            slot = check.name("slot", request.slot, SLOT)
            _check_vaccine(check, request.vaccine)
            if check.required("expire_time", request.HasField("expire_time")):
                check.timestamp("expire_time", request.expire_time)
            check.request_id(request.request_id)
            if ids and slot and ids["clinic"] != slot["clinic"]:
                check.fail("slot", "must belong to the hold's clinic")
        hold = await self.inventory.commit_hold(
            ids["clinic"],
            ids["hold"],
            slot["slot"],
            request.vaccine,
            request.expire_time.ToDatetime(tzinfo=UTC),
        )
        return _hold(hold)

    async def ExtendHold(self, request, context) -> pb.Hold:
        with checking() as check:
            ids = check.name("name", request.name, HOLD)
            slot = check.name("slot", request.slot, SLOT)
            _check_vaccine(check, request.vaccine)
            _check_new_expiry(check, request, self.inventory.clock.now())
            check.request_id(request.request_id)
            if ids and slot and ids["clinic"] != slot["clinic"]:
                check.fail("slot", "must belong to the hold's clinic")
        hold = await self.inventory.extend_hold(
            ids["clinic"], ids["hold"], request.expire_time.ToDatetime(tzinfo=UTC)
        )
        return _hold(hold)

    async def ReleaseHold(self, request, context) -> pb.Hold:
        with checking() as check:
            ids = check.name("name", request.name, HOLD)
            check.request_id(request.request_id)
        state = await self.inventory.release_hold(ids["clinic"], ids["hold"])
        return pb.Hold(
            name=request.name, state=pb.HoldState.Value(f"HOLD_STATE_{state}")
        )

    async def CloseSlot(self, request, context) -> pb.Availability:
        with checking() as check:
            ids = check.name("slot", request.slot, SLOT)
            check.request_id(request.request_id)
        await self.inventory.close_slot(ids["clinic"], ids["slot"])
        counters = await self.inventory.availability(ids["clinic"], ids["slot"], "")
        return _availability(request.slot, "", counters)

    async def AdjustDoseStock(self, request, context) -> pb.DoseAdjustment:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            _check_vaccine(check, request.vaccine)
            check.between("delta", request.delta, -10_000_000, 10_000_000)
            if request.delta == 0:
                check.fail("delta", "must not be 0")
            check.text("reason", request.reason.strip(), MAX_REASON_LENGTH)
            check.text("actor", request.actor, MAX_ACTOR_LENGTH, required=False)
            check.request_id(request.request_id)
        adjustment = await self.inventory.adjust_doses(
            ids["clinic"],
            request.vaccine,
            request.delta,
            request.reason.strip(),
            request.request_id,
            request.actor,
        )
        return _adjustment(adjustment)

    # Batches

    async def ReceiveBatch(self, request, context) -> pb.Batch:
        batch = request.batch
        with checking() as check:
            ids = check.name("parent", request.parent, CLINIC)
            _check_batch_id(check, request.batch_id)
            _check_vaccine(check, batch.vaccine, "batch.vaccine")
            expire_date = check.day("batch.expire_date", batch.expire_date)
            check.between(
                "batch.doses_received", batch.doses_received, 1, MAX_BATCH_DOSES
            )
            check.request_id(request.request_id)
        require_clinic(request.parent, request.parent)
        received = await self.batches.receive(
            BatchRow(
                ids["clinic"],
                request.batch_id,
                batch.vaccine,
                expire_date,
                batch.doses_received,
                request_id=request.request_id,
            ),
            current_principal().subject,
        )
        return _batch(received)

    async def GetBatch(self, request, context) -> pb.Batch:
        with checking() as check:
            ids = check.name("name", request.name, BATCH)
        require_clinic(CLINIC.format(clinic=ids["clinic"]), request.name)
        return _batch(await self.batches.get(ids["clinic"], ids["batch"]))

    async def ListBatches(self, request, context) -> pb.ListBatchesResponse:
        with checking() as check:
            ids = check.name("parent", request.parent, CLINIC)
        require_clinic(request.parent, request.parent)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.batches.store.of_clinic(ids["clinic"], offset, size + 1)
        return pb.ListBatchesResponse(
            batches=[_batch(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def ExpireBatches(self, request, context) -> pb.ExpireBatchesResponse:
        with checking() as check:
            today = check.day("today", request.today)
            _check_not_after_today(check, today, self.batches.today())
            check.request_id(request.request_id)
        expired, adjustments = await self.batches.expire(today, request.request_id)
        return pb.ExpireBatchesResponse(
            expired=[_batch(batch) for batch in expired],
            adjustments=[_adjustment(adjustment) for adjustment in adjustments],
        )

    async def ConsumeDose(self, request, context) -> pb.DoseUse:
        with checking() as check:
            hold = check.name("hold", request.hold, HOLD)
            batch = check.name("batch", request.batch, BATCH)
            appointment = check.name("appointment", request.appointment, APPOINTMENT)
            administer_time = None
            if check.required("administer_time", request.HasField("administer_time")):
                administer_time = check.timestamp(
                    "administer_time", request.administer_time
                )
            check.request_id(request.request_id)
        use = DoseUseRow(
            appointment_id=appointment["appointment"],
            clinic_id=batch["clinic"],
            batch_id=batch["batch"],
            vaccine="",
            hold_id=hold["hold"],
            administer_time=administer_time,
            request_id=request.request_id,
            create_time=self.batches.clock.now(),
        )
        return _dose_use(await self.batches.consume_dose(use, hold["clinic"]))


def _hold_result(outcome: pb.Hold | BaseException) -> pb.HoldResult:
    if isinstance(outcome, DomainError):
        return pb.HoldResult(error=to_status_proto(outcome))
    if isinstance(outcome, BaseException):
        raise outcome
    return pb.HoldResult(hold=outcome)


def _check_new_expiry(check, request: pb.ExtendHoldRequest, now: datetime) -> None:
    """A valid time at most ``MAX_EXTENSION_SECONDS`` ahead; earlier is
    allowed and leaves the hold as it is."""
    if not check.required("expire_time", request.HasField("expire_time")):
        return
    expires_at = check.timestamp("expire_time", request.expire_time)
    latest = now + timedelta(seconds=MAX_EXTENSION_SECONDS)
    if expires_at is not None and expires_at > latest:
        check.fail(
            "expire_time",
            f"must be at most {MAX_EXTENSION_SECONDS} seconds from now, "
            f"got {expires_at.isoformat()}",
        )


def _check_vaccine(check, vaccine: str, field: str = "vaccine") -> None:
    check.text(field, vaccine, VACCINE_MAX_LENGTH)


def _check_batch_id(check: Checker, batch_id: str) -> None:
    if check.required("batch_id", batch_id) and not _BATCH_ID.fullmatch(batch_id):
        check.fail(
            "batch_id",
            f"must be 1-64 letters, digits, '-', '_' or '.', got {batch_id!r}",
        )


def _check_not_after_today(check: Checker, day: date | None, today: date) -> None:
    """A pass cannot expire batches ahead of the inventory's own calendar."""
    if day is not None and day > today:
        check.fail(
            "today",
            f"must not be after the inventory's current day, {today.isoformat()}, "
            f"got {day.isoformat()!r}",
        )


def _counts(total: int, held: int, committed: int) -> pb.Counts:
    return pb.Counts(
        total=total,
        held=held,
        committed=committed,
        free=max(0, total - held - committed),
    )


def _availability(slot: str, vaccine: str, counters: Counters) -> pb.Availability:
    return pb.Availability(
        slot=slot,
        vaccine=vaccine,
        seats=_counts(counters.capacity, counters.seats_held, counters.seats_committed),
        doses=_counts(counters.doses, counters.doses_held, counters.doses_committed),
    )


def _hold(hold: HoldRow) -> pb.Hold:
    return pb.Hold(
        name=HOLD.format(clinic=hold.clinic_id, hold=hold.hold_id),
        slot=SLOT.format(clinic=hold.clinic_id, slot=hold.slot_id),
        vaccine=hold.vaccine,
        state=pb.HoldState.Value(f"HOLD_STATE_{hold.state}"),
        expire_time=to_timestamp(hold.expires_at),
        store=pb.HoldStore.Value(f"HOLD_STORE_{hold.store}"),
    )


def _adjustment(adjustment: Adjustment) -> pb.DoseAdjustment:
    return pb.DoseAdjustment(
        clinic=CLINIC.format(clinic=adjustment.clinic_id),
        vaccine=adjustment.vaccine,
        delta=adjustment.delta,
        reason=adjustment.reason,
        old_doses=adjustment.old_doses,
        new_doses=adjustment.new_doses,
        shortfall=adjustment.shortfall,
        request_id=adjustment.request_id,
    )


def _batch(batch: BatchRow) -> pb.Batch:
    return pb.Batch(
        name=BATCH.format(clinic=batch.clinic_id, batch=batch.batch_id),
        vaccine=batch.vaccine,
        expire_date=batch.expire_date.isoformat(),
        doses_received=batch.doses_received,
        doses_used=batch.doses_used,
        doses_left=batch.doses_left,
        state=pb.BatchState.Value(f"BATCH_STATE_{batch.state}"),
        receive_time=to_timestamp(batch.receive_time),
    )


def _dose_use(use: DoseUseRow) -> pb.DoseUse:
    return pb.DoseUse(
        appointment=APPOINTMENT.format(appointment=use.appointment_id),
        batch=BATCH.format(clinic=use.clinic_id, batch=use.batch_id),
        vaccine=use.vaccine,
        administer_time=to_timestamp(use.administer_time),
        request_id=use.request_id,
        create_time=to_timestamp(use.create_time),
        hold=HOLD.format(clinic=use.clinic_id, hold=use.hold_id),
    )
