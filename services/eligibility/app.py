"""Wires the eligibility service from settings."""

from __future__ import annotations

from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.eligibility.v1 import eligibility_pb2_grpc
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration
from services.eligibility.checker import EligibilityChecker
from services.eligibility.config import InsuranceSettings
from services.eligibility.events import EligibilityEvents
from services.eligibility.insurance import InsuranceClient
from services.eligibility.patients import PatientRecords
from services.eligibility.reviews import Reviews
from services.eligibility.rules import SHIPPED_RULES_SOURCE, shipped_rules_text
from services.eligibility.rulesets import RuleSets
from services.eligibility.servicer import (
    ACCESS_POLICY,
    SERVICE,
    EligibilityServicer,
)
from services.eligibility.store import EligibilityStore
from services.eligibility.tables import outbox

# How often a replica looks for a rule set recorded by another one.
RULE_SET_POLL_SECONDS = 3.0
# How often review decisions that have not reached their appointment are
# sent again.
REVIEW_APPLY_SECONDS = 10.0
# Rule sets change rarely: a slower relay pass costs nothing that matters.
RELAY_INTERVAL_SECONDS = 0.5


async def build(
    settings: Settings,
    clock: Clock | None = None,
    insurance: InsuranceSettings | None = None,
):
    """The eligibility registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    events = EventSettings.from_settings(settings)
    store = EligibilityStore(engine, EligibilityEvents(events))
    rule_sets = await RuleSets.start(
        store, clock, shipped_rules_text(), SHIPPED_RULES_SOURCE
    )
    access = await ServiceAccess.start(settings, clock, "eligibility")
    patients = access.channel(settings.service_addrs["patient"])
    appointments = access.channel(settings.service_addrs["appointment"])
    insurance_client = InsuranceClient(insurance or InsuranceSettings.from_env())
    reviews = Reviews(
        store, appointment_pb2_grpc.AppointmentServiceStub(appointments), clock
    )
    servicer = EligibilityServicer(
        EligibilityChecker(rule_sets.book, insurance_client),
        PatientRecords(patient_pb2_grpc.PatientServiceStub(patients)),
        rule_sets,
        reviews,
    )
    relay = OutboxRelay(engine, outbox, events, clock)
    jobs = [
        PeriodicJob("rule-set-poll", rule_sets.refresh, RULE_SET_POLL_SECONDS),
        PeriodicJob("review-decisions", reviews.apply_pending, REVIEW_APPLY_SECONDS),
        PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS),
    ]
    for job in jobs:
        job.start()

    async def close() -> None:
        for job in jobs:
            await job.stop()
        await relay.close()
        await insurance_client.aclose()
        await access.close()
        await engine.dispose()

    registration = Registration(
        SERVICE,
        eligibility_pb2_grpc.add_EligibilityServiceServicer_to_server,
        servicer,
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
