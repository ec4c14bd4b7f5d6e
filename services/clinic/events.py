"""The events of clinics and their slots, as written to the clinic outbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from vaxbook.events.v1 import events_pb2

from services.common.clock import to_timestamp
from services.common.events import EventSettings, new_event
from services.common.names import CLINIC, SLOT

if TYPE_CHECKING:
    from services.clinic.store import ClinicRow, SlotRow

Outgoing = tuple[str, events_pb2.Event]


class ClinicEvents:
    """Builds ``(subject, event)`` pairs for clinic and slot changes.

    Subjects are ``<prefix>.clinic.created``, ``<prefix>.slot.created``,
    ``<prefix>.slot.capacity_changed`` and ``<prefix>.slot.cancelled``.
    """

    def __init__(self, settings: EventSettings) -> None:
        self.settings = settings

    def clinic_created(self, row: ClinicRow, request_id: str) -> Outgoing:
        payload = events_pb2.ClinicCreated(
            clinic=CLINIC.format(clinic=row.id),
            display_name=row.display_name,
            region=row.region,
            address=row.address,
            vaccines=list(row.vaccines),
        )
        event = new_event("clinic_created", payload, row.create_time, request_id)
        return self.settings.subject("clinic", "created"), event

    def slot_created(self, row: SlotRow, now: datetime, request_id: str) -> Outgoing:
        payload = events_pb2.SlotCreated(
            slot=SLOT.format(clinic=row.clinic_id, slot=row.id),
            start_time=to_timestamp(row.start_time),
            end_time=to_timestamp(row.end_time),
            capacity=row.capacity,
        )
        return self._slot_event("created", "slot_created", payload, now, request_id)

    def capacity_changed(
        self,
        clinic_id: str,
        slot_id: str,
        capacity_before: int,
        capacity: int,
        now: datetime,
        request_id: str,
    ) -> Outgoing:
        payload = events_pb2.SlotCapacityChanged(
            slot=SLOT.format(clinic=clinic_id, slot=slot_id),
            old_capacity=capacity_before,
            new_capacity=capacity,
        )
        return self._slot_event(
            "capacity_changed", "slot_capacity_changed", payload, now, request_id
        )

    def slot_cancelled(
        self, row: SlotRow, actor: str, now: datetime, request_id: str
    ) -> Outgoing:
        payload = events_pb2.SlotCancelled(
            slot=SLOT.format(clinic=row.clinic_id, slot=row.id),
            start_time=to_timestamp(row.start_time),
            reason=row.cancel_reason or "",
            actor=actor,
        )
        return self._slot_event("cancelled", "slot_cancelled", payload, now, request_id)

    def _slot_event(
        self, name: str, field: str, payload: Message, now: datetime, request_id: str
    ) -> Outgoing:
        event = new_event(field, payload, now, request_id)
        return self.settings.subject("slot", name), event
