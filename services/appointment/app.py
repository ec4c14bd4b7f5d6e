"""Wires the appointment service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2, appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment.booking import Booking
from services.appointment.events import AppointmentEvents
from services.appointment.servicer import AppointmentServicer
from services.appointment.slots import SlotDirectory
from services.appointment.store import AppointmentStore
from services.appointment.tables import outbox
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.grpc_clients import channel
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration

REPAIR_INTERVAL_SECONDS = 5.0
RELAY_INTERVAL_SECONDS = 0.2


async def build(settings: Settings, clock: Clock | None = None):
    """The appointment registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    events = EventSettings.from_settings(settings)
    inventory_channel = channel(settings.service_addrs["inventory"])
    clinic_channel = channel(settings.service_addrs["clinic"])
    booking = Booking(
        AppointmentStore(engine, AppointmentEvents(events)),
        inventory_pb2_grpc.InventoryServiceStub(inventory_channel),
        SlotDirectory(clinic_pb2_grpc.ClinicServiceStub(clinic_channel)),
        clock,
        settings.hold_ttl_seconds,
    )
    repair = PeriodicJob("appointment-repair", booking.repair, REPAIR_INTERVAL_SECONDS)
    repair.start()
    relay = OutboxRelay(engine, outbox, events, clock)
    relaying = PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS)
    relaying.start()

    async def close() -> None:
        await repair.stop()
        await relaying.stop()
        await relay.close()
        await inventory_channel.close()
        await clinic_channel.close()
        await engine.dispose()

    registration = Registration(
        appointment_pb2.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
        appointment_pb2_grpc.add_AppointmentServiceServicer_to_server,
        AppointmentServicer(booking),
    )
    return [registration], [close]
