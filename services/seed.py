"""A demo country: regions, clinics, a week of slots and dose stock.

Seeding goes through the services' own RPCs with fixed request ids, so running
it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.common.clock import to_timestamp


@dataclass(frozen=True)
class DemoClinic:
    key: str
    display_name: str
    region: str
    address: str
    vaccines: tuple[str, ...]


DEMO_CLINICS = (
    DemoClinic(
        "riverside",
        "Riverside Health Centre",
        "north",
        "4 Mill Lane",
        ("comirnaty", "spikevax"),
    ),
    DemoClinic("harbour", "Harbour Clinic", "south", "12 Quay Street", ("comirnaty",)),
    DemoClinic(
        "hillcrest",
        "Hillcrest Community Hall",
        "east",
        "1 Summit Road",
        ("spikevax", "nuvaxovid"),
    ),
)
DAYS = 7
SLOTS_PER_DAY = ((9, 0), (10, 0), (11, 0), (14, 0), (15, 0))
SEATS_PER_SLOT = 20
DOSES_PER_VACCINE = 500


async def seed(channel_for: dict[str, grpc.aio.Channel], today=None) -> int:
    """Creates the demo country; returns how many slots it has."""
    clinics = clinic_pb2_grpc.ClinicServiceStub(channel_for["clinic"])
    inventory = inventory_pb2_grpc.InventoryServiceStub(channel_for["inventory"])
    first_day = (today or datetime.now(UTC)).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    slots = 0
    for demo in DEMO_CLINICS:
        clinic = await clinics.CreateClinic(
            clin.CreateClinicRequest(
                clinic=clin.Clinic(
                    display_name=demo.display_name,
                    region=demo.region,
                    address=demo.address,
                    vaccines=list(demo.vaccines),
                ),
                request_id=f"seed-clinic-{demo.key}",
            ),
            timeout=10,
        )
        for vaccine in demo.vaccines:
            await inventory.SetDoseStock(
                inv.SetDoseStockRequest(
                    clinic=clinic.name,
                    vaccine=vaccine,
                    doses=DOSES_PER_VACCINE,
                    request_id=f"seed-doses-{demo.key}-{vaccine}",
                ),
                timeout=10,
            )
        for day in range(DAYS):
            for hour, minute in SLOTS_PER_DAY:
                start = first_day + timedelta(days=day, hours=hour, minutes=minute)
                await clinics.CreateSlot(
                    clin.CreateSlotRequest(
                        parent=clinic.name,
                        slot=clin.Slot(
                            start_time=to_timestamp(start),
                            end_time=to_timestamp(start + timedelta(minutes=45)),
                            capacity=SEATS_PER_SLOT,
                        ),
                        request_id=f"seed-slot-{demo.key}-{start:%Y%m%d%H%M}",
                    ),
                    timeout=10,
                )
                slots += 1
    return slots
