"""Wires the appointment service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2, appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment.booking import Booking
from services.appointment.servicer import AppointmentServicer
from services.appointment.slots import SlotDirectory
from services.appointment.store import AppointmentStore
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.grpc_clients import channel
from services.common.jobs import PeriodicJob
from services.common.server import Registration

REPAIR_INTERVAL_SECONDS = 5.0


async def build(settings: Settings, clock: Clock | None = None):
    """The appointment registration and its shutdown hooks."""
    engine = create_engine(settings.database_url)
    inventory_channel = channel(settings.service_addrs["inventory"])
    clinic_channel = channel(settings.service_addrs["clinic"])
    booking = Booking(
        AppointmentStore(engine),
        inventory_pb2_grpc.InventoryServiceStub(inventory_channel),
        SlotDirectory(clinic_pb2_grpc.ClinicServiceStub(clinic_channel)),
        clock or SystemClock(),
        settings.hold_ttl_seconds,
    )
    repair = PeriodicJob("appointment-repair", booking.repair, REPAIR_INTERVAL_SECONDS)
    repair.start()

    async def close() -> None:
        await repair.stop()
        await inventory_channel.close()
        await clinic_channel.close()
        await engine.dispose()

    registration = Registration(
        appointment_pb2.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
        appointment_pb2_grpc.add_AppointmentServiceServicer_to_server,
        AppointmentServicer(booking),
    )
    return [registration], [close]
