"""Redis dies in the middle of a burst: booking goes on, nothing is oversold,
and Redis is rebuilt from PostgreSQL before it is trusted again."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter

import grpc
import pytest
from sqlalchemy import create_engine, text
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.errors import read_error
from services.devstack import start_redis
from tests.mesh import (
    availability,
    bookers,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
    start_mesh,
)
from tests.polling import eventually

CAPACITY = 60
BURST = 240
KILL_AFTER = 40
CANCELLED = 5


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def failover_mesh(settings, clock, insurance, redis_server):
    own = dataclasses.replace(
        settings,
        redis_url=redis_server.url,
        key_prefix=f"vbfail-{uuid.uuid4().hex[:8]}",
    )
    running = await start_mesh(own, clock, insurance)
    yield running
    await running.stop()


def _inventory(mesh):
    return mesh.servicers["inventory"].inventory


def _database_counts(database_url: str, slot_name: str) -> tuple[int, int, int]:
    slot_id = slot_name.rsplit("/", 1)[1]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "select capacity, seats_committed, seats_held "
                "from inventory.slot_seats where slot_id = :slot"
            ),
            {"slot": slot_id},
        ).one()
    engine.dispose()
    return tuple(row)


async def _burst(mesh, slot, redis_server) -> tuple[Counter, list[str]]:
    stub = mesh.appointments
    held: list[str] = []
    outcomes: Counter = Counter()
    citizens = await bookers(mesh, BURST)

    async def one(index: int) -> None:
        await asyncio.sleep(index * 0.002)
        request = reserve_request(slot, citizens[index])
        try:
            reserved = await stub.ReserveAppointment(request, timeout=30)
        except grpc.aio.AioRpcError as error:
            outcomes[read_error(error).reason] += 1
            return
        held.append(reserved.name)
        outcomes["HELD"] += 1
        if len(held) == KILL_AFTER:
            redis_server.kill()

    await asyncio.gather(*(one(i) for i in range(BURST)))
    return outcomes, held


async def _confirm_all(mesh, names: list[str]) -> dict[str, str]:
    stub = mesh.appointments

    async def one(name: str) -> str:
        try:
            await stub.ConfirmAppointment(
                appt.ConfirmAppointmentRequest(name=name, request_id=new_id()),
                timeout=30,
            )
        except grpc.aio.AioRpcError as error:
            return read_error(error).reason
        return "CONFIRMED"

    outcomes = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, outcomes, strict=True))


async def test_redis_dying_mid_burst_never_oversells_and_recovers_exactly(
    failover_mesh, redis_server, database_url
):
    mesh = failover_mesh
    clinic = await make_clinic(mesh, doses=10_000)
    slot = await make_slot(mesh, clinic, capacity=CAPACITY)
    assert _inventory(mesh).redis_ready

    outcomes, held = await _burst(mesh, slot, redis_server)

    # Every caller got a seat or a clear SLOT_FULL: no error leaked out.
    assert set(outcomes) <= {"HELD", "SLOT_FULL"}
    assert not _inventory(mesh).redis_ready
    confirmed = await _confirm_all(mesh, held)
    assert set(confirmed.values()) <= {"CONFIRMED", "SLOT_FULL"}
    confirmed_names = [n for n, outcome in confirmed.items() if outcome == "CONFIRMED"]
    capacity, committed, db_held = _database_counts(database_url, slot.name)
    assert committed == len(confirmed_names) <= capacity
    assert committed + db_held <= capacity

    # Cancellations while Redis is down give seats back in PostgreSQL.
    for name in confirmed_names[:CANCELLED]:
        await mesh.appointments.CancelAppointment(
            appt.CancelAppointmentRequest(name=name, request_id=new_id())
        )
    capacity, committed, db_held = _database_counts(database_url, slot.name)
    assert committed == len(confirmed_names) - CANCELLED

    redis_server.restart()

    async def redis_back() -> bool:
        return _inventory(mesh).redis_ready

    await eventually(redis_back)
    counts = await availability(mesh, slot)
    assert counts.seats.committed == committed
    assert counts.seats.held == db_held
    assert counts.seats.free == capacity - committed - db_held

    # New holds go to Redis again, and exactly the free seats can be taken.
    free = counts.seats.free
    extra = Counter()
    for citizen in await bookers(mesh, free + 3):
        try:
            await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))
            extra["HELD"] += 1
        except grpc.aio.AioRpcError as error:
            extra[read_error(error).reason] += 1
    assert free >= CANCELLED
    assert extra == {"HELD": free, "SLOT_FULL": 3}
    hold = await mesh.inventory.CreateHold(
        inv.CreateHoldRequest(
            slot=(await make_slot(mesh, clinic, capacity=1)).name,
            vaccine="comirnaty",
            hold_id=new_id(),
            ttl_seconds=60,
            request_id=new_id(),
        )
    )
    assert hold.store == inv.HOLD_STORE_REDIS
