"""What the appointment service needs to know of a slot, cached.

A slot's window and its clinic's vaccines do not change once created, so a
short-lived cache spares the clinic service a call on every reservation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from vaxbook.clinic.v1 import clinic_pb2, clinic_pb2_grpc

from services.common.grpc_clients import upstream

CACHE_SECONDS = 60.0
CACHE_MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class SlotInfo:
    start_time: datetime
    end_time: datetime
    vaccines: frozenset[str]


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
        info = SlotInfo(
            slot.start_time.ToDatetime(tzinfo=UTC),
            slot.end_time.ToDatetime(tzinfo=UTC),
            frozenset(slot.vaccines),
        )
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[slot_name] = (time.monotonic() + CACHE_SECONDS, info)
        return info
