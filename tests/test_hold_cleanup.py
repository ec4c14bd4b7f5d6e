"""The cleanup job of database-path holds (the ``expired-hold-cleanup`` job of
the inventory service): holds taken in PostgreSQL while Redis was away, then
left to run out, are ended and give back their seat and dose, once, however
many replicas run the job at the same moment."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.common.clock import FakeClock
from services.common.db import create_engine
from services.common.events import EventSettings
from services.inventory import redis_gate
from services.inventory.events import InventoryEvents
from services.inventory.inventory import Inventory
from services.inventory.store import InventoryStore
from services.inventory.tables import dose_stock, holds, slot_seats

VACCINE = "comirnaty"
SEATS, DOSES = 20, 50
TTL_SECONDS = 300
LONGER_TTL_SECONDS = 3600
RUN_OUT, LIVE = 12, 3


@pytest.fixture
def own_settings(settings, fresh_database):
    """The test's settings with a database of its own: the session mesh's
    inventory reaps run-out holds of every clinic in its database on a clock
    of its own, and would end this test's live holds as well."""
    return dataclasses.replace(settings, database_url=fresh_database)


@pytest.fixture
async def replicas(own_settings):
    """Two inventory replicas on the database path, sharing one clock."""
    clock = FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    events = InventoryEvents(EventSettings.from_settings(own_settings))
    clinic = uuid.uuid4().hex[:12]
    made = []
    for _ in range(2):
        engine = create_engine(own_settings.database_url, pool_size=2)
        client = redis_gate.connect(own_settings.redis_url)
        inventory = Inventory(
            InventoryStore(engine, events),
            redis_gate.RedisGate(client, f"{own_settings.key_prefix}-cleanup-{clinic}"),
            clock,
        )
        made.append((inventory, engine, client))
    first = made[0][0]
    slot = uuid.uuid4().hex[:12]
    await first.set_capacity(clinic, slot, SEATS)
    await first.set_doses(clinic, VACCINE, DOSES)
    for inventory, _, _ in made:
        inventory.redis_ready = False
    yield [inventory for inventory, _, _ in made], clock, clinic, slot
    for inventory, engine, client in made:
        await inventory.close()
        await client.aclose()
        await engine.dispose()


async def stored(settings, clinic: str, slot: str) -> tuple[Counter, int, int]:
    """Hold states, seats held and doses held, as PostgreSQL has them."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            states = Counter(
                (
                    await conn.scalars(
                        select(holds.c.state).where(holds.c.clinic_id == clinic)
                    )
                ).all()
            )
            seats_held = await conn.scalar(
                select(slot_seats.c.seats_held).where(slot_seats.c.slot_id == slot)
            )
            doses_held = await conn.scalar(
                select(dose_stock.c.doses_held).where(
                    dose_stock.c.clinic_id == clinic, dose_stock.c.vaccine == VACCINE
                )
            )
    finally:
        await engine.dispose()
    return states, seats_held, doses_held


async def test_two_replicas_end_each_run_out_database_hold_once(own_settings, replicas):
    (one, other), clock, clinic, slot = replicas
    for ttl, count in ((TTL_SECONDS, RUN_OUT), (LONGER_TTL_SECONDS, LIVE)):
        for _ in range(count):
            await one.create_hold(clinic, slot, VACCINE, uuid.uuid4().hex, ttl)
    clock.advance(TTL_SECONDS + 1)
    assert (await stored(own_settings, clinic, slot))[1:] == (RUN_OUT + LIVE,) * 2

    reaped = await asyncio.gather(
        one.reap_expired_db_holds(), other.reap_expired_db_holds()
    )

    # Each hold ended once, by one replica or the other: twice would take
    # its seat and dose back twice.
    assert sum(reaped) == RUN_OUT
    states, seats_held, doses_held = await stored(own_settings, clinic, slot)
    assert states == Counter({"EXPIRED": RUN_OUT, "HELD": LIVE})
    assert (seats_held, doses_held) == (LIVE, LIVE)
    assert await one.reap_expired_db_holds() == 0
    assert await stored(own_settings, clinic, slot) == (
        Counter({"EXPIRED": RUN_OUT, "HELD": LIVE}),
        LIVE,
        LIVE,
    )
