"""Wires the appointment service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2_grpc, vaccination_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.eligibility.v1 import eligibility_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc
from vaxbook.patient.v1 import patient_pb2_grpc

from services.appointment.booking import Booking
from services.appointment.eligibility import EligibilityGate
from services.appointment.events import AppointmentEvents
from services.appointment.offer_store import OfferStore
from services.appointment.qr_codes import QrIssuer, ref_key_from
from services.appointment.rebooking import Rebooking
from services.appointment.scan_store import ScanStore
from services.appointment.scanning import Scanning
from services.appointment.servicer import (
    ACCESS_POLICY,
    SERVICE,
    AppointmentServicer,
)
from services.appointment.slots import SlotDirectory
from services.appointment.store import AppointmentStore
from services.appointment.tables import outbox
from services.appointment.vaccination_servicer import (
    ACCESS_POLICY as VACCINATION_ACCESS_POLICY,
)
from services.appointment.vaccination_servicer import (
    SERVICE as VACCINATION_SERVICE,
)
from services.appointment.vaccination_servicer import VaccinationServicer
from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration

REPAIR_INTERVAL_SECONDS = 5.0
RELAY_INTERVAL_SECONDS = 0.2
RECHECK_INTERVAL_SECONDS = 0.5
SWEEP_INTERVAL_SECONDS = 30.0
LAPSE_INTERVAL_SECONDS = 5.0
HISTORY_INTERVAL_SECONDS = 5.0
KEY_RELOAD_INTERVAL_SECONDS = 60.0


async def build(settings: Settings, clock: Clock | None = None):
    """The appointment registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    events = EventSettings.from_settings(settings)
    access = await ServiceAccess.start(settings, clock, "appointment")
    addrs = settings.service_addrs
    issuer = QrIssuer(engine, ref_key_from(settings.service_key), clock)
    await issuer.start()
    appointment_events = AppointmentEvents(events, issuer)
    slots = SlotDirectory(
        clinic_pb2_grpc.ClinicServiceStub(access.channel(addrs["clinic"]))
    )
    booking = Booking(
        AppointmentStore(engine, appointment_events),
        inventory_pb2_grpc.InventoryServiceStub(access.channel(addrs["inventory"])),
        slots,
        EligibilityGate(
            eligibility_pb2_grpc.EligibilityServiceStub(
                access.channel(addrs["eligibility"])
            )
        ),
        clock,
        settings.hold_ttl_seconds,
        settings.eligibility_max_wait_seconds,
        settings.no_show_grace_seconds,
    )
    rebooking = Rebooking(
        booking,
        OfferStore(engine, appointment_events),
        slots,
        settings.rebooking_window_days,
        settings.rebooking_offer_seconds,
    )
    scans = ScanStore(engine, appointment_events)
    scanning = Scanning(
        booking.store,
        scans,
        issuer,
        booking.inventory,
        patient_pb2_grpc.PatientServiceStub(access.channel(addrs["patient"])),
        clock,
    )
    relay = OutboxRelay(engine, outbox, events, clock)
    jobs = [
        PeriodicJob("appointment-repair", booking.repair, REPAIR_INTERVAL_SECONDS),
        PeriodicJob(
            "eligibility-recheck",
            booking.verification.recheck_due,
            RECHECK_INTERVAL_SECONDS,
        ),
        PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS),
        PeriodicJob("no-show-sweeper", booking.sweep_no_shows, SWEEP_INTERVAL_SECONDS),
        PeriodicJob("offer-lapser", rebooking.lapse_due, LAPSE_INTERVAL_SECONDS),
        PeriodicJob(
            "vaccination-history",
            scanning.record_owed_history,
            HISTORY_INTERVAL_SECONDS,
        ),
        PeriodicJob("qr-key-reload", issuer.reload, KEY_RELOAD_INTERVAL_SECONDS),
    ]
    for job in jobs:
        job.start()

    async def close() -> None:
        for job in jobs:
            await job.stop()
        await relay.close()
        await access.close()
        await engine.dispose()

    # Interceptors apply to the whole server: one checks both services.
    policy = {**ACCESS_POLICY, **VACCINATION_ACCESS_POLICY}
    registrations = [
        Registration(
            SERVICE,
            appointment_pb2_grpc.add_AppointmentServiceServicer_to_server,
            AppointmentServicer(booking, rebooking),
            interceptors=[access.interceptor(policy)],
        ),
        Registration(
            VACCINATION_SERVICE,
            vaccination_pb2_grpc.add_VaccinationServiceServicer_to_server,
            VaccinationServicer(booking, scanning, scans, issuer, slots),
        ),
    ]
    return registrations, [close]
