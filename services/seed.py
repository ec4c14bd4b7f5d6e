"""A demo country: regions, clinics, a week of slots, a session running
today, and dose stock received as batches.

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
BATCH_SHELF_LIFE = timedelta(days=180)
# Today's session runs for twelve hours from the hour the demo is seeded.
TODAY_SEATS = 50
TODAY_HOURS = 12


async def seed(channel_for: dict[str, grpc.aio.Channel], today=None) -> int:
    """Creates the demo country; returns how many slots it has."""
    clinics = clinic_pb2_grpc.ClinicServiceStub(channel_for["clinic"])
    inventory = inventory_pb2_grpc.InventoryServiceStub(channel_for["inventory"])
    now = today or datetime.now(UTC)
    first_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )
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
            await inventory.ReceiveBatch(
                inv.ReceiveBatchRequest(
                    parent=clinic.name,
                    batch_id=demo_batch(demo, vaccine),
                    batch=inv.Batch(
                        vaccine=vaccine,
                        expire_date=(now + BATCH_SHELF_LIFE).date().isoformat(),
                        doses_received=DOSES_PER_VACCINE,
                    ),
                    request_id=f"seed-batch-{demo.key}-{vaccine}",
                ),
                timeout=10,
            )
        await _today(clinics, clinic, demo, now)
        slots += 1
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


def demo_batch(demo: DemoClinic, vaccine: str) -> str:
    """The number of the demo batch of ``vaccine`` at a demo clinic."""
    return f"DEMO-{demo.key.upper()}-{vaccine.upper()}"


async def _today(clinics, clinic: clin.Clinic, demo: DemoClinic, now: datetime) -> None:
    """A session from this hour, for ``TODAY_HOURS``."""
    start = now.replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=TODAY_HOURS)
    await clinics.CreateSlot(
        clin.CreateSlotRequest(
            parent=clinic.name,
            slot=clin.Slot(
                start_time=to_timestamp(start),
                end_time=to_timestamp(end),
                capacity=TODAY_SEATS,
            ),
            request_id=f"seed-today-{demo.key}-{start:%Y%m%d}",
        ),
        timeout=10,
    )
