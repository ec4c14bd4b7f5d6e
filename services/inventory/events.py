"""The events of inventory totals, as written to the inventory outbox.

Only the totals are events: a slot's seats, a clinic's dose stock and the
batches that bring and take its doses. Holds, and the doses given from them,
are not: they are created, committed and released many times a second at a
busy hour, and each of those moments already reaches the stream as the
appointment event that caused it (reserved, confirmed, cancelled, expired).
"""

from __future__ import annotations

from datetime import datetime

from vaxbook.events.v1 import events_pb2

from services.common.events import EventSettings, new_event
from services.common.names import BATCH, CLINIC, SLOT

Outgoing = tuple[str, events_pb2.Event]


class InventoryEvents:
    """Builds ``(subject, event)`` pairs for changes of inventory totals.

    Subjects are ``<prefix>.slot_seats.capacity_changed``,
    ``<prefix>.dose_stock.changed`` and ``<prefix>.batches.received``
    (or ``expired``), after the tables they describe.
    """

    def __init__(self, settings: EventSettings) -> None:
        self.settings = settings

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
        event = new_event("slot_capacity_changed", payload, now, request_id)
        return self.settings.subject("slot_seats", "capacity_changed"), event

    def doses_changed(
        self,
        clinic_id: str,
        vaccine: str,
        doses_before: int,
        doses: int,
        now: datetime,
        request_id: str,
    ) -> Outgoing:
        payload = events_pb2.DoseStockChanged(
            clinic=CLINIC.format(clinic=clinic_id),
            vaccine=vaccine,
            old_doses=doses_before,
            new_doses=doses,
        )
        event = new_event("dose_stock_changed", payload, now, request_id)
        return self.settings.subject("dose_stock", "changed"), event

    def doses_adjusted(
        self, adjustment, actor: str, now: datetime, request_id: str
    ) -> Outgoing:
        """``adjustment`` is a ``services.inventory.store.Adjustment``."""
        payload = events_pb2.DoseStockAdjusted(
            clinic=CLINIC.format(clinic=adjustment.clinic_id),
            vaccine=adjustment.vaccine,
            delta=adjustment.delta,
            reason=adjustment.reason,
            old_doses=adjustment.old_doses,
            new_doses=adjustment.new_doses,
            shortfall=adjustment.shortfall,
            actor=actor,
        )
        event = new_event("dose_stock_adjusted", payload, now, request_id)
        return self.settings.subject("dose_stock", "adjusted"), event

    def batch_received(
        self, batch, actor: str, now: datetime, request_id: str
    ) -> Outgoing:
        """``batch`` is a ``services.inventory.batch_store.BatchRow``."""
        payload = events_pb2.BatchReceived(
            batch=BATCH.format(clinic=batch.clinic_id, batch=batch.batch_id),
            clinic=CLINIC.format(clinic=batch.clinic_id),
            vaccine=batch.vaccine,
            expire_date=batch.expire_date.isoformat(),
            doses=batch.doses_received,
            actor=actor,
        )
        event = new_event("batch_received", payload, now, request_id)
        return self.settings.subject("batches", "received"), event

    def batch_expired(
        self, batch, doses_removed: int, now: datetime, request_id: str
    ) -> Outgoing:
        """``batch`` is a ``services.inventory.batch_store.BatchRow``."""
        payload = events_pb2.BatchExpired(
            batch=BATCH.format(clinic=batch.clinic_id, batch=batch.batch_id),
            clinic=CLINIC.format(clinic=batch.clinic_id),
            vaccine=batch.vaccine,
            expire_date=batch.expire_date.isoformat(),
            doses_left=batch.doses_left,
            doses_removed=doses_removed,
        )
        event = new_event("batch_expired", payload, now, request_id)
        return self.settings.subject("batches", "expired"), event
