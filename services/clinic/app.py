"""Wires the clinic service from settings."""

from __future__ import annotations

from vaxbook.clinic.v1 import clinic_pb2, clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.clinic.servicer import ClinicServicer
from services.clinic.store import ClinicStore
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.grpc_clients import channel
from services.common.server import Registration


async def build(settings: Settings, clock: Clock | None = None):
    """The clinic registration and its shutdown hooks."""
    engine = create_engine(settings.database_url, pool_size=5)
    inventory_channel = channel(settings.service_addrs["inventory"])
    servicer = ClinicServicer(
        ClinicStore(engine),
        inventory_pb2_grpc.InventoryServiceStub(inventory_channel),
        clock or SystemClock(),
    )

    async def close() -> None:
        await inventory_channel.close()
        await engine.dispose()

    registration = Registration(
        clinic_pb2.DESCRIPTOR.services_by_name["ClinicService"].full_name,
        clinic_pb2_grpc.add_ClinicServiceServicer_to_server,
        servicer,
    )
    return [registration], [close]
