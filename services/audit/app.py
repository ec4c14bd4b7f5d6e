"""Wires the audit service from settings."""

from __future__ import annotations

from vaxbook.audit.v1 import audit_pb2_grpc

from services.audit.consumer import AuditConsumer
from services.audit.servicer import ACCESS_POLICY, SERVICE, AuditServicer
from services.audit.store import AuditStore
from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.server import Registration

# Passes follow one another at once: each waits up to a second for events.
CONSUME_INTERVAL_SECONDS = 0.0


async def build(settings: Settings, clock: Clock | None = None):
    """The audit registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    store = AuditStore(engine)
    access = await ServiceAccess.start(settings, clock, "audit")
    consumer = AuditConsumer(store, EventSettings.from_settings(settings), clock)
    job = PeriodicJob(
        "audit-consumer", consumer.consume_or_wait, CONSUME_INTERVAL_SECONDS
    )
    job.start()

    async def close() -> None:
        await job.stop()
        await consumer.close()
        await access.close()
        await engine.dispose()

    registration = Registration(
        SERVICE,
        audit_pb2_grpc.add_AuditServiceServicer_to_server,
        AuditServicer(store),
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
