"""What the appointment service needs to know of a slot, cached.

A slot's window and its clinic's vaccines do not change once created, so a
short-lived cache spares the clinic service a call on every reservation. A
cancellation may be seen late through the cache; inventory, which closes the
slot before any appointment in it is cancelled, refuses the hold meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vaxbook.clinic.v1 import clinic_pb2, clinic_pb2_grpc

from services.common.clock import to_timestamp
from services.common.grpc_clients import upstream

CACHE_SECONDS = 60.0
CACHE_MAX_ENTRIES = 50_000


# The most candidate slots a rebooking offer considers.
MAX_CANDIDATES = 500
# No slot runs longer: a walk-in looks this far back for the slot under way.
LONGEST_SLOT = timedelta(days=1)


@dataclass(frozen=True)
class SlotInfo:
    start_time: datetime
    end_time: datetime
    vaccines: frozenset[str]
    region: str = ""
    cancelled: bool = False
    name: str = ""


class SlotDirectory:
    def __init__(self, clinics: clinic_pb2_grpc.ClinicServiceStub) -> None:
        self.clinics = clinics
        self._cache: dict[str, tuple[float, SlotInfo]] = {}

    async def get(self, slot_name: str, call_timeout: float) -> SlotInfo:
        """The slot's window and vaccines; raises NOT_FOUND for unknown slots."""
        cached = self._cache.get(slot_name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with upstream("clinic"):
            slot = await self.clinics.GetSlot(
                clinic_pb2.GetSlotRequest(name=slot_name), timeout=call_timeout
            )
        info = _info(slot)
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[slot_name] = (time.monotonic() + CACHE_SECONDS, info)
        return info

    async def candidates(
        self,
        region: str,
        vaccine: str,
        window: tuple[datetime, datetime],
        call_timeout: float,
    ) -> list[SlotInfo]:
        """Open slots in ``region`` offering ``vaccine`` that start within
        ``window``, by start time."""
        start_from, start_before = window
        async with upstream("clinic"):
            answer = await self.clinics.ListSlots(
                clinic_pb2.ListSlotsRequest(
                    parent="clinics/-",
                    region=region,
                    vaccine=vaccine,
                    start_time_from=to_timestamp(start_from),
                    start_time_before=to_timestamp(start_before),
                    page_size=MAX_CANDIDATES,
                ),
                timeout=call_timeout,
            )
        return [_info(slot) for slot in answer.slots]

    async def running_at(
        self, clinic: str, vaccine: str, now: datetime, call_timeout: float
    ) -> SlotInfo | None:
        """The clinic's open slot offering ``vaccine`` that is under way at
        ``now``; ``None`` when there is none."""
        async with upstream("clinic"):
            answer = await self.clinics.ListSlots(
                clinic_pb2.ListSlotsRequest(
                    parent=clinic,
                    vaccine=vaccine,
                    start_time_from=to_timestamp(now - LONGEST_SLOT),
                    start_time_before=to_timestamp(now + timedelta(microseconds=1)),
                    page_size=MAX_CANDIDATES,
                ),
                timeout=call_timeout,
            )
        running = [
            info
            for info in map(_info, answer.slots)
            if info.end_time > now and not info.cancelled
        ]
        return running[-1] if running else None


def _info(slot: clinic_pb2.Slot) -> SlotInfo:
    return SlotInfo(
        slot.start_time.ToDatetime(tzinfo=UTC),
        slot.end_time.ToDatetime(tzinfo=UTC),
        frozenset(slot.vaccines),
        slot.region,
        slot.state == clinic_pb2.SLOT_STATE_CANCELLED,
        slot.name,
    )
