"""Wires the clinic service from settings."""

from __future__ import annotations

from vaxbook.clinic.v1 import clinic_pb2, clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.clinic.servicer import ACCESS_POLICY, ClinicServicer
from services.clinic.store import ClinicStore
from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.server import Registration


async def build(settings: Settings, clock: Clock | None = None):
    """The clinic registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    access = await ServiceAccess.start(settings, clock, "clinic")
    inventory_channel = access.channel(settings.service_addrs["inventory"])
    servicer = ClinicServicer(
        ClinicStore(engine),
        inventory_pb2_grpc.InventoryServiceStub(inventory_channel),
        clock,
    )

    async def close() -> None:
        await access.close()
        await engine.dispose()

    registration = Registration(
        clinic_pb2.DESCRIPTOR.services_by_name["ClinicService"].full_name,
        clinic_pb2_grpc.add_ClinicServiceServicer_to_server,
        servicer,
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
