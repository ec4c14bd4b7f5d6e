"""Wires the patient service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration
from services.patient.lookups import PersonLookups
from services.patient.permissions import Permissions
from services.patient.servicer import ACCESS_POLICY, SERVICE, PatientServicer
from services.patient.store import PatientStore
from services.patient.tables import outbox

RELAY_INTERVAL_SECONDS = 0.2


async def build(settings: Settings, clock: Clock | None = None):
    """The patient registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    access = await ServiceAccess.start(settings, clock, "patient")
    lookups = PersonLookups(
        auth_pb2_grpc.AuthServiceStub(access.channel(settings.service_addrs["auth"])),
        appointment_pb2_grpc.AppointmentServiceStub(
            access.channel(settings.service_addrs["appointment"])
        ),
    )
    events = EventSettings.from_settings(settings)
    servicer = PatientServicer(
        PatientStore(engine), Permissions(lookups), clock, events
    )
    # Views of records reach the audit trail through the outbox.
    relay = OutboxRelay(engine, outbox, events, clock)
    relay_job = PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS)
    relay_job.start()

    async def close() -> None:
        await relay_job.stop()
        await relay.close()
        await access.close()
        await engine.dispose()

    registration = Registration(
        SERVICE,
        patient_pb2_grpc.add_PatientServiceServicer_to_server,
        servicer,
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
