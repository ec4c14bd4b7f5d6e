"""Wires the inventory service from settings."""

from __future__ import annotations

from vaxbook.inventory.v1 import inventory_pb2, inventory_pb2_grpc

from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay
from services.common.server import Registration
from services.inventory import redis_gate
from services.inventory.batch_store import BatchStore
from services.inventory.batches import Batches
from services.inventory.events import InventoryEvents
from services.inventory.inventory import Inventory
from services.inventory.servicer import ACCESS_POLICY, InventoryServicer
from services.inventory.store import InventoryStore
from services.inventory.tables import outbox

CLEANUP_INTERVAL_SECONDS = 5.0
# Only totals are events here, and they change seldom.
RELAY_INTERVAL_SECONDS = 0.5


async def build(settings: Settings, clock: Clock | None = None):
    """The inventory registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    access = await ServiceAccess.start(settings, clock, "inventory")
    client = redis_gate.connect(settings.redis_url)
    events = EventSettings.from_settings(settings)
    store = InventoryStore(engine, InventoryEvents(events))
    inventory = Inventory(
        store, redis_gate.RedisGate(client, settings.key_prefix), clock
    )
    batches = Batches(BatchStore(store), inventory, clock)
    await inventory.start()
    relay = OutboxRelay(engine, outbox, events, clock)
    jobs = [
        PeriodicJob(
            "expired-hold-cleanup",
            inventory.reap_expired_db_holds,
            CLEANUP_INTERVAL_SECONDS,
        ),
        PeriodicJob("outbox-relay", relay.relay_or_wait, RELAY_INTERVAL_SECONDS),
        PeriodicJob(
            "hold-reconciler",
            inventory.reconcile,
            settings.reconcile_interval_seconds,
        ),
    ]
    for job in jobs:
        job.start()

    async def close() -> None:
        for job in jobs:
            await job.stop()
        await relay.close()
        await access.close()
        await inventory.close()
        await client.aclose()
        await engine.dispose()

    registration = Registration(
        inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name,
        inventory_pb2_grpc.add_InventoryServiceServicer_to_server,
        InventoryServicer(inventory, batches),
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
