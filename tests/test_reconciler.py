"""The hold reconciler: Redis counters and holds that drifted from PostgreSQL
are rebuilt on the second pass that sees the same drift, and never otherwise."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from services.common.clock import FakeClock
from services.common.db import create_engine
from services.common.errors import DomainError
from services.common.events import EventSettings
from services.devstack import create_database, drop_database, start_redis
from services.inventory import inventory as inventory_module
from services.inventory import redis_gate
from services.inventory.events import InventoryEvents
from services.inventory.inventory import Inventory
from services.inventory.redis_gate import Counters
from services.inventory.store import (
    COMMITTED,
    DATABASE,
    HELD,
    HoldRow,
    InventoryStore,
)
from services.migrate import migrate
from tests.polling import eventually

CAPACITY = 3
DOSES = 10
VACCINE = "comirnaty"
TTL_SECONDS = 300
START = datetime(2027, 5, 3, 9, 0, tzinfo=UTC)
# The clinic every test opens: one seat and dose committed, one held in Redis.
IN_STEP = Counters(
    capacity=CAPACITY,
    seats_held=1,
    seats_committed=1,
    doses=DOSES,
    doses_held=1,
    doses_committed=1,
)


@dataclass(frozen=True)
class Clinic:
    clinic_id: str
    slot_id: str


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def reconcile_database_url(servers) -> str:
    """A migrated database of this module's own: a pass reads every clinic in
    its database, so the other tests' clinics stay out of it."""
    name = f"vaxbook_reconcile_{uuid.uuid4().hex[:10]}"
    url = create_database(servers.database_url, name)
    migrate(url)
    yield url
    drop_database(servers.database_url, name)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
async def start_replica(settings, reconcile_database_url):
    """Starts inventory replicas that share this test's database, clock and
    Redis key prefix, as replicas of one deployment do."""
    prefix = f"vbrec-{new_id()}"
    clock = FakeClock(START)
    events = InventoryEvents(EventSettings.from_settings(settings))
    running = []

    async def start(redis_url: str = settings.redis_url) -> Inventory:
        engine = create_engine(reconcile_database_url, pool_size=2)
        client = redis_gate.connect(redis_url)
        inventory = Inventory(
            InventoryStore(engine, events),
            redis_gate.RedisGate(client, prefix),
            clock,
            probe_interval_seconds=0.1,
        )
        running.append((inventory, client, engine))
        await inventory.start()
        return inventory

    yield start
    for inventory, client, engine in running:
        await inventory.close()
        await client.aclose()
        await engine.dispose()


async def take_hold(inventory: Inventory, clinic: Clinic) -> HoldRow:
    return await inventory.create_hold(
        clinic.clinic_id, clinic.slot_id, VACCINE, new_id(), TTL_SECONDS
    )


async def open_clinic(inventory: Inventory) -> Clinic:
    """A clinic whose counters are ``IN_STEP``."""
    clinic = Clinic(new_id(), new_id())
    await inventory.set_capacity(clinic.clinic_id, clinic.slot_id, CAPACITY)
    await inventory.set_doses(clinic.clinic_id, VACCINE, DOSES)
    booked = await take_hold(inventory, clinic)
    await inventory.commit_hold(
        clinic.clinic_id, booked.hold_id, clinic.slot_id, VACCINE, booked.expires_at
    )
    await take_hold(inventory, clinic)
    return clinic


async def in_redis(inventory: Inventory, clinic: Clinic) -> Counters:
    assert inventory.redis_ready
    return await inventory.availability(clinic.clinic_id, clinic.slot_id, VACCINE)


async def in_postgres(inventory: Inventory, clinic: Clinic) -> Counters:
    return await inventory.store.counters(
        clinic.clinic_id, clinic.slot_id, VACCINE, inventory.clock.now()
    )


async def overwrite(
    inventory: Inventory, clinic: Clinic, what: str, field: str, count: int
) -> None:
    """Sets one counter of the clinic's ``seats`` or ``doses`` hash in Redis."""
    seats_key, doses_key, *_ = inventory.gate.keys(clinic.clinic_id)
    key = seats_key if what == "seats" else doses_key
    await inventory.gate.client.hset(key, field, count)


def repairs_counted() -> float:
    counted = REGISTRY.get_sample_value("vaxbook_inventory_reconcile_repairs_total")
    return counted or 0.0


async def two_passes(inventory: Inventory) -> tuple[int, int]:
    return await inventory.reconcile(), await inventory.reconcile()


async def test_a_clinic_in_step_with_postgres_is_never_repaired(start_replica):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    released = await take_hold(inventory, clinic)
    await inventory.release_hold(clinic.clinic_id, released.hold_id)
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 0)
    assert await inventory.reconcile() == 0
    assert repairs_counted() == before
    assert await in_redis(inventory, clinic) == IN_STEP


async def test_holds_that_ran_out_unreaped_are_not_drift(start_replica):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    await take_hold(inventory, clinic)
    before = repairs_counted()

    inventory.clock.advance(TTL_SECONDS + 1)

    assert await two_passes(inventory) == (0, 0)
    assert repairs_counted() == before
    counters = await in_redis(inventory, clinic)
    assert (counters.seats_held, counters.seats_committed) == (0, 1)


async def test_a_commit_redis_never_counted_is_repaired_on_the_second_pass(
    start_replica, caplog
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    await overwrite(inventory, clinic, "seats", f"{clinic.slot_id}:committed", 0)
    await overwrite(inventory, clinic, "doses", f"{VACCINE}:committed", 0)
    before = repairs_counted()

    assert await inventory.reconcile() == 0
    assert repairs_counted() == before
    assert (await in_redis(inventory, clinic)).seats_committed == 0

    with caplog.at_level(logging.WARNING, logger=inventory_module.__name__):
        assert await inventory.reconcile() == 1
    assert repairs_counted() == before + 1
    assert await in_redis(inventory, clinic) == IN_STEP
    [warning] = [r for r in caplog.records if r.message.startswith("Redis drifted")]
    assert warning.fields == {
        "clinic": f"clinics/{clinic.clinic_id}",
        "drift": [
            f"doses {VACCINE}:committed: Redis 0, expected 1",
            f"seats {clinic.slot_id}:committed: Redis 0, expected 1",
        ],
    }
    database = await in_postgres(inventory, clinic)
    assert database.seats_committed == database.doses_committed == 1
    assert await inventory.reconcile() == 0


async def test_a_slot_redis_wrongly_shows_full_can_be_held_after_the_repair(
    start_replica,
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    await overwrite(inventory, clinic, "seats", f"{clinic.slot_id}:capacity", 2)
    with pytest.raises(DomainError) as refused:
        await take_hold(inventory, clinic)
    assert refused.value.reason == "SLOT_FULL"
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 1)

    assert repairs_counted() == before + 1
    assert (await in_redis(inventory, clinic)).capacity == CAPACITY
    assert (await in_postgres(inventory, clinic)).capacity == CAPACITY
    await take_hold(inventory, clinic)
    with pytest.raises(DomainError) as refused:
        await take_hold(inventory, clinic)
    assert refused.value.reason == "SLOT_FULL"


async def test_a_held_counter_that_disagrees_with_the_holds_is_repaired(
    start_replica,
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    await overwrite(inventory, clinic, "seats", f"{clinic.slot_id}:held", 2)
    await overwrite(inventory, clinic, "doses", f"{VACCINE}:held", 5)
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 1)

    assert repairs_counted() == before + 1
    counters = await in_redis(inventory, clinic)
    assert counters == IN_STEP
    assert counters.capacity - counters.seats_held - counters.seats_committed == 1


async def test_a_hold_committed_in_postgres_but_not_in_redis_is_settled(
    start_replica,
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    hold = await take_hold(inventory, clinic)
    # The commit reached PostgreSQL; the process died before Redis heard of it.
    await inventory.store.commit_hold(
        replace(hold, state=COMMITTED), inventory.clock.now()
    )
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 1)

    assert repairs_counted() == before + 1
    counters = await in_redis(inventory, clinic)
    assert (counters.seats_held, counters.seats_committed) == (1, 2)
    assert (counters.doses_held, counters.doses_committed) == (1, 2)
    now = inventory.clock.now()
    assert await inventory.gate.lookup(clinic.clinic_id, hold.hold_id, now) is None
    database = await in_postgres(inventory, clinic)
    assert database.seats_committed == counters.seats_committed


async def test_a_hold_released_in_postgres_but_live_in_redis_frees_its_seat(
    start_replica,
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    hold = await take_hold(inventory, clinic)
    # Only the release's record reached PostgreSQL; Redis kept the hold.
    await inventory.store.record_redis_release(
        clinic.clinic_id, hold.hold_id, inventory.clock.now()
    )
    assert (await in_redis(inventory, clinic)).seats_held == 2
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 1)

    assert repairs_counted() == before + 1
    assert await in_redis(inventory, clinic) == IN_STEP
    now = inventory.clock.now()
    assert await inventory.gate.lookup(clinic.clinic_id, hold.hold_id, now) is None
    await take_hold(inventory, clinic)


async def test_a_live_database_hold_missing_from_redis_is_added(start_replica):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    now = inventory.clock.now()
    # Taken on the database path after the catch-up rebuild had read PostgreSQL.
    hold = await inventory.store.create_hold(
        HoldRow(
            new_id(),
            clinic.clinic_id,
            clinic.slot_id,
            VACCINE,
            HELD,
            DATABASE,
            now + timedelta(seconds=TTL_SECONDS),
        ),
        now,
    )
    assert (await in_redis(inventory, clinic)).seats_held == 1
    before = repairs_counted()

    assert await two_passes(inventory) == (0, 1)

    assert repairs_counted() == before + 1
    assert (await in_redis(inventory, clinic)).seats_held == 2
    found = await inventory.gate.lookup(clinic.clinic_id, hold.hold_id, now)
    assert found is not None and found.slot_id == clinic.slot_id
    with pytest.raises(DomainError) as refused:
        await take_hold(inventory, clinic)
    assert refused.value.reason == "SLOT_FULL"


async def test_a_commit_caught_half_done_is_not_repaired(start_replica):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    hold = await take_hold(inventory, clinic)
    before = repairs_counted()

    await inventory.store.commit_hold(
        replace(hold, state=COMMITTED), inventory.clock.now()
    )
    assert await inventory.reconcile() == 0
    await inventory.gate.settle_commit(
        clinic.clinic_id, hold.hold_id, clinic.slot_id, VACCINE
    )
    assert await two_passes(inventory) == (0, 0)

    assert repairs_counted() == before
    counters = await in_redis(inventory, clinic)
    assert (counters.seats_held, counters.seats_committed) == (1, 2)


async def test_drift_whose_counts_moved_between_passes_waits_for_a_steady_pass(
    start_replica,
):
    inventory = await start_replica()
    clinic = await open_clinic(inventory)
    await overwrite(inventory, clinic, "seats", f"{clinic.slot_id}:committed", 0)

    assert await inventory.reconcile() == 0
    held = await take_hold(inventory, clinic)
    await inventory.commit_hold(
        clinic.clinic_id, held.hold_id, clinic.slot_id, VACCINE, held.expires_at
    )
    assert await two_passes(inventory) == (0, 1)

    counters = await in_redis(inventory, clinic)
    assert (counters.seats_held, counters.seats_committed) == (1, 2)


async def test_two_replicas_reconciling_at_once_leave_the_right_counters(
    start_replica,
):
    first = await start_replica()
    second = await start_replica()
    clinic = await open_clinic(first)
    await overwrite(first, clinic, "seats", f"{clinic.slot_id}:capacity", 1)
    await overwrite(first, clinic, "seats", f"{clinic.slot_id}:committed", 4)
    await overwrite(first, clinic, "doses", f"{VACCINE}:held", 0)
    before = repairs_counted()

    together = await asyncio.gather(first.reconcile(), second.reconcile())
    assert together == [0, 0]
    together = await asyncio.gather(first.reconcile(), second.reconcile())

    assert sum(together) >= 1
    assert repairs_counted() == before + sum(together)
    assert await in_redis(first, clinic) == IN_STEP
    assert await in_redis(second, clinic) == IN_STEP
    assert await asyncio.gather(first.reconcile(), second.reconcile()) == [0, 0]
    outcomes = []
    for replica in (first, second, first):
        try:
            await take_hold(replica, clinic)
            outcomes.append("HELD")
        except DomainError as refusal:
            outcomes.append(refusal.reason)
    assert outcomes == ["HELD", "SLOT_FULL", "SLOT_FULL"]


async def test_a_pass_that_loses_redis_hands_holds_to_postgres_until_recovery(
    start_replica, redis_server
):
    inventory = await start_replica(redis_server.url)
    clinic = await open_clinic(inventory)
    before = repairs_counted()

    redis_server.kill()
    assert await inventory.reconcile() == 0
    assert not inventory.redis_ready
    assert await inventory.reconcile() == 0
    held = await take_hold(inventory, clinic)
    assert held.store == DATABASE

    redis_server.restart()

    async def redis_back() -> bool:
        return inventory.redis_ready

    await eventually(redis_back)
    assert await two_passes(inventory) == (0, 0)
    assert repairs_counted() == before
    counters = await in_redis(inventory, clinic)
    assert (counters.seats_held, counters.seats_committed) == (1, 1)
