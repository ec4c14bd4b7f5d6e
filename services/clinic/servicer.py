"""gRPC transport of the clinic service."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import grpc
from vaxbook.clinic.v1 import clinic_pb2 as pb
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2

from services.clinic.cancellations import Cancellations, cancel_timeout
from services.clinic.store import AdjustmentRow, ClinicRow, ClinicStore, SlotRow
from services.common import paging
from services.common.auth import PUBLIC, Role, current_principal, require_clinic
from services.common.clock import Clock, to_timestamp
from services.common.errors import NotFound
from services.common.grpc_clients import timeout, upstream
from services.common.names import CLINIC, SLOT
from services.common.validation import Checker, checking

MAX_CAPACITY = 100_000
MAX_TEXT_LENGTH = 200
MAX_REASON_LENGTH = 500
MAX_DOSE_DELTA = 1_000_000

SERVICE = pb.DESCRIPTOR.services_by_name["ClinicService"].full_name
_OPERATORS = {Role.ADMIN, Role.SERVICE}
# Who may call each RPC; staff change slots of their own clinics only.
ACCESS_POLICY = {
    f"/{SERVICE}/CreateClinic": _OPERATORS,
    f"/{SERVICE}/GetClinic": PUBLIC,
    f"/{SERVICE}/ListClinics": PUBLIC,
    f"/{SERVICE}/CreateSlot": _OPERATORS | {Role.CLINIC_STAFF},
    f"/{SERVICE}/GetSlot": PUBLIC,
    f"/{SERVICE}/ListSlots": PUBLIC,
    f"/{SERVICE}/UpdateSlotCapacity": _OPERATORS | {Role.CLINIC_STAFF},
    f"/{SERVICE}/CancelSlot": _OPERATORS | {Role.CLINIC_STAFF},
    f"/{SERVICE}/BatchCancelSlots": _OPERATORS | {Role.CLINIC_STAFF},
    f"/{SERVICE}/AdjustDoseStock": _OPERATORS | {Role.CLINIC_STAFF},
}


class ClinicServicer(clinic_pb2_grpc.ClinicServiceServicer):
    def __init__(
        self, store: ClinicStore, cancellations: Cancellations, clock: Clock
    ) -> None:
        self.store = store
        self.cancellations = cancellations
        self.inventory = cancellations.inventory
        self.clock = clock

    async def CreateClinic(self, request, context) -> pb.Clinic:
        clinic = request.clinic
        with checking() as check:
            for field in ("display_name", "region", "address"):
                _check_text(check, f"clinic.{field}", getattr(clinic, field))
            if check.required("clinic.vaccines", list(clinic.vaccines)):
                for vaccine in clinic.vaccines:
                    _check_text(check, "clinic.vaccines", vaccine)
            check.request_id(request.request_id)
        row = await self.store.create_clinic(
            request.request_id,
            {
                "display_name": clinic.display_name,
                "region": clinic.region,
                "address": clinic.address,
                "vaccines": sorted(set(clinic.vaccines)),
            },
            self.clock.now(),
        )
        return _clinic(row)

    async def GetClinic(self, request, context) -> pb.Clinic:
        with checking() as check:
            ids = check.name("name", request.name, CLINIC)
        row = await self.store.get_clinic(ids["clinic"])
        if row is None:
            raise NotFound("clinic", request.name)
        return _clinic(row)

    async def ListClinics(self, request, context) -> pb.ListClinicsResponse:
        with checking() as check:
            _check_filters(check, request)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.store.list_clinics(
            request.region, request.vaccine, offset, size + 1
        )
        return pb.ListClinicsResponse(
            clinics=[_clinic(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def CreateSlot(self, request, context) -> pb.Slot:
        slot = request.slot
        with checking() as check:
            ids = check.name("parent", request.parent, CLINIC)
            _check_window(check, slot)
            _check_capacity(check, "slot.capacity", slot.capacity)
            check.request_id(request.request_id)
        require_clinic(request.parent, request.parent)
        if await self.store.get_clinic(ids["clinic"]) is None:
            raise NotFound("clinic", request.parent)
        row = await self.store.create_slot(
            request.request_id,
            ids["clinic"],
            {
                "start_time": slot.start_time.ToDatetime(tzinfo=UTC),
                "end_time": slot.end_time.ToDatetime(tzinfo=UTC),
                "capacity": slot.capacity,
            },
            self.clock.now(),
        )
        # Retries reach here too, so the seats reach inventory even if an
        # earlier attempt stopped after the insert.
        await self._push_capacity(row, request.request_id, context)
        return _slot(row)

    async def GetSlot(self, request, context) -> pb.Slot:
        with checking() as check:
            ids = check.name("name", request.name, SLOT)
        row = await self.store.get_slot(ids["clinic"], ids["slot"])
        if row is None:
            raise NotFound("slot", request.name)
        return _slot(row)

    async def ListSlots(self, request, context) -> pb.ListSlotsResponse:
        with checking() as check:
            clinic_id = None
            if request.parent != "clinics/-":
                clinic_id = check.name("parent", request.parent, CLINIC).get("clinic")
            _check_filters(check, request)
            window = _start_window(check, request)
        if clinic_id and await self.store.get_clinic(clinic_id) is None:
            raise NotFound("clinic", request.parent)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.store.list_slots(
            clinic_id,
            request.region,
            request.vaccine,
            window,
            request.show_cancelled,
            offset,
            size + 1,
        )
        return pb.ListSlotsResponse(
            slots=[_slot(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def UpdateSlotCapacity(self, request, context) -> pb.Slot:
        with checking() as check:
            ids = check.name("name", request.name, SLOT)
            _check_capacity(check, "capacity", request.capacity)
            check.request_id(request.request_id)
        require_clinic(CLINIC.format(clinic=ids["clinic"]), request.name)
        row = await self.store.get_slot(ids["clinic"], ids["slot"])
        if row is None:
            raise NotFound("slot", request.name)
        row = SlotRow(**{**row.__dict__, "capacity": request.capacity})
        # Inventory refuses a capacity below the committed seats; only then
        # does the clinic's own record change.
        await self._push_capacity(row, request.request_id, context)
        await self.store.set_capacity(
            row.clinic_id,
            row.id,
            request.capacity,
            self.clock.now(),
            request.request_id,
        )
        return _slot(row)

    async def CancelSlot(self, request, context) -> pb.CancelSlotsResponse:
        with checking() as check:
            ids = check.name("name", request.name, SLOT)
            _check_reason(check, request.reason)
            check.request_id(request.request_id)
        require_clinic(CLINIC.format(clinic=ids["clinic"]), request.name)
        if await self.store.get_slot(ids["clinic"], ids["slot"]) is None:
            raise NotFound("slot", request.name)
        return await self._cancel(ids["clinic"], [ids["slot"]], request, context)

    async def BatchCancelSlots(self, request, context) -> pb.CancelSlotsResponse:
        with checking() as check:
            ids = check.name("parent", request.parent, CLINIC)
            check.required("date", request.date)
            day = _parse_day(check, request.date)
            _check_reason(check, request.reason)
            check.request_id(request.request_id)
        require_clinic(request.parent, request.parent)
        if await self.store.get_clinic(ids["clinic"]) is None:
            raise NotFound("clinic", request.parent)
        rows = await self.store.list_slots(
            ids["clinic"], "", "", (day, day + timedelta(days=1)), True, 0, None
        )
        slot_ids = [row.id for row in rows]
        return await self._cancel(ids["clinic"], slot_ids, request, context)

    async def _cancel(
        self, clinic_id: str, slot_ids: list[str], request, context
    ) -> pb.CancelSlotsResponse:
        reason = request.reason.strip()
        if request.validate_only:
            rows = [await self.store.get_slot(clinic_id, i) for i in slot_ids]
            counted = await self.cancellations.count(rows, reason, timeout(context))
            return pb.CancelSlotsResponse(
                slots=[_slot(row) for row in rows], affected_appointments=counted
            )
        rows = await self.store.cancel_slots(
            clinic_id,
            slot_ids,
            reason,
            current_principal().subject,
            self.clock.now(),
            request.request_id,
        )
        outcome = await self.cancellations.settle(rows, cancel_timeout(context))
        return pb.CancelSlotsResponse(
            slots=[_slot(row) for row in rows],
            affected_appointments=outcome.appointments,
            rebooking_offers=outcome.offers,
        )

    async def AdjustDoseStock(self, request, context) -> pb.AdjustDoseStockResponse:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            _check_text(check, "vaccine", request.vaccine)
            check.between("delta", request.delta, -MAX_DOSE_DELTA, MAX_DOSE_DELTA)
            if request.delta == 0:
                check.fail("delta", "must not be 0")
            _check_reason(check, request.reason)
            check.request_id(request.request_id)
        require_clinic(request.clinic, request.clinic)
        clinic = await self.store.get_clinic(ids["clinic"])
        if clinic is None:
            raise NotFound("clinic", request.clinic)
        if request.vaccine not in clinic.vaccines:
            raise NotFound("vaccine", f"{request.clinic}/vaccines/{request.vaccine}")
        row = AdjustmentRow(
            request_id=request.request_id,
            clinic_id=ids["clinic"],
            vaccine=request.vaccine,
            delta=request.delta,
            reason=request.reason.strip(),
            actor=current_principal().subject,
        )
        return await self.cancellations.adjust_doses(
            row, self.clock.now(), cancel_timeout(context)
        )

    async def _push_capacity(
        self, row: SlotRow, request_id: str, context: grpc.aio.ServicerContext
    ) -> None:
        async with upstream("inventory"):
            await self.inventory.SetSlotCapacity(
                inventory_pb2.SetSlotCapacityRequest(
                    slot=SLOT.format(clinic=row.clinic_id, slot=row.id),
                    capacity=row.capacity,
                    request_id=request_id,
                ),
                timeout=timeout(context),
            )


def _check_text(check: Checker, field: str, value: str) -> None:
    check.text(field, value if value.strip() else "", MAX_TEXT_LENGTH)


def _check_filters(check: Checker, request) -> None:
    check.text("region", request.region, MAX_TEXT_LENGTH, required=False)
    check.text("vaccine", request.vaccine, MAX_TEXT_LENGTH, required=False)


def _check_capacity(check: Checker, field: str, capacity: int) -> None:
    check.between(field, capacity, 1, MAX_CAPACITY)


def _check_window(check: Checker, slot: pb.Slot) -> None:
    start = end = None
    if check.required("slot.start_time", slot.HasField("start_time")):
        start = check.timestamp("slot.start_time", slot.start_time)
    if check.required("slot.end_time", slot.HasField("end_time")):
        end = check.timestamp("slot.end_time", slot.end_time)
    if start and end and end <= start:
        check.fail("slot.end_time", "must be after slot.start_time")


def _check_reason(check: Checker, reason: str) -> None:
    check.text("reason", reason.strip(), MAX_REASON_LENGTH)


def _start_window(
    check: Checker, request: pb.ListSlotsRequest
) -> tuple[datetime | None, datetime | None]:
    """The bounds of the slots' start time the request asks for."""
    start_from = start_before = None
    day = _parse_day(check, request.date)
    if day is not None:
        start_from, start_before = day, day + timedelta(days=1)
    if request.HasField("start_time_from"):
        given = check.timestamp("start_time_from", request.start_time_from)
        start_from = max(filter(None, (start_from, given)), default=None)
    if request.HasField("start_time_before"):
        given = check.timestamp("start_time_before", request.start_time_before)
        start_before = min(filter(None, (start_before, given)), default=None)
    return start_from, start_before


def _parse_day(check: Checker, value: str) -> datetime | None:
    """The start (UTC) of the day ``value`` names; ``None`` when absent."""
    day = check.day("date", value, required=False)
    return None if day is None else datetime.combine(day, time.min, UTC)


def _clinic(row: ClinicRow) -> pb.Clinic:
    return pb.Clinic(
        name=CLINIC.format(clinic=row.id),
        display_name=row.display_name,
        region=row.region,
        address=row.address,
        vaccines=row.vaccines,
        create_time=to_timestamp(row.create_time),
    )


def _slot(row: SlotRow) -> pb.Slot:
    slot = pb.Slot(
        name=SLOT.format(clinic=row.clinic_id, slot=row.id),
        start_time=to_timestamp(row.start_time),
        end_time=to_timestamp(row.end_time),
        capacity=row.capacity,
        region=row.region,
        vaccines=row.vaccines,
        state=pb.SLOT_STATE_CANCELLED if row.cancel_time else pb.SLOT_STATE_OPEN,
        cancel_reason=row.cancel_reason or "",
    )
    if row.cancel_time is not None:
        slot.cancel_time.CopyFrom(to_timestamp(row.cancel_time))
    return slot
