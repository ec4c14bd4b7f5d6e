"""Wires the clinic service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2, clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.clinic.cancellations import Cancellations
from services.clinic.events import ClinicEvents
from services.clinic.servicer import ACCESS_POLICY, ClinicServicer
from services.clinic.store import ClinicStore
from services.clinic.tables import outbox
from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration

# Clinic changes are few: a slower relay pass costs nothing that matters.
RELAY_INTERVAL_SECONDS = 0.5
SETTLE_INTERVAL_SECONDS = 5.0
# Batches expire at midnight UTC; a pass a minute finds them soon after.
EXPIRE_INTERVAL_SECONDS = 60.0


async def build(settings: Settings, clock: Clock | None = None):
    """The clinic registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    events = EventSettings.from_settings(settings)
    access = await ServiceAccess.start(settings, clock, "clinic")
    addrs = settings.service_addrs
    store = ClinicStore(engine, ClinicEvents(events))
    cancellations = Cancellations(
        store,
        inventory_pb2_grpc.InventoryServiceStub(access.channel(addrs["inventory"])),
        appointment_pb2_grpc.AppointmentServiceStub(
            access.channel(addrs["appointment"])
        ),
        clock,
    )
    servicer = ClinicServicer(store, cancellations, clock)
    relay = OutboxRelay(engine, outbox, events, clock)
    jobs = [
        PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS),
        PeriodicJob(
            "cancellation-settler", cancellations.settle_owed, SETTLE_INTERVAL_SECONDS
        ),
        PeriodicJob(
            "adjustment-settler",
            cancellations.settle_owed_adjustments,
            SETTLE_INTERVAL_SECONDS,
        ),
        PeriodicJob(
            "batch-expirer", cancellations.expire_batches, EXPIRE_INTERVAL_SECONDS
        ),
    ]
    for job in jobs:
        job.start()

    async def close() -> None:
        for job in jobs:
            await job.stop()
        await relay.close()
        await access.close()
        await engine.dispose()

    registration = Registration(
        clinic_pb2.DESCRIPTOR.services_by_name["ClinicService"].full_name,
        clinic_pb2_grpc.add_ClinicServiceServicer_to_server,
        servicer,
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
