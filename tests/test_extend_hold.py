"""Extending a hold: its expiry moves later on either hold path, never earlier,
and a hold that has ended stays ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.clock import to_timestamp
from services.common.errors import read_error
from tests.mesh import availability, make_clinic, make_slot, new_id

HOLD_TTL_SECONDS = 60
EXTENSION = timedelta(minutes=10)
ONE_HOUR = timedelta(hours=1)
YEAR_10000 = Timestamp(seconds=253_402_300_800)
STORES = {"redis": inv.HOLD_STORE_REDIS, "database": inv.HOLD_STORE_DATABASE}


@asynccontextmanager
async def redis_away(mesh) -> AsyncIterator[None]:
    """Holds go to PostgreSQL, as while Redis is unreachable; afterwards Redis
    is rebuilt from PostgreSQL, as the recovery task does."""
    inventory = mesh.servicers["inventory"].inventory
    inventory.redis_ready = False
    try:
        yield
    finally:
        await inventory.start()


@pytest.fixture(params=list(STORES))
async def hold_path(request, mesh) -> AsyncIterator[str]:
    """Runs a test with holds taken on Redis, then on PostgreSQL."""
    if request.param == "redis":
        yield request.param
        return
    async with redis_away(mesh):
        yield request.param


@pytest.fixture
async def slot(mesh):
    clinic = await make_clinic(mesh, doses=10)
    return await make_slot(mesh, clinic, capacity=2)


def expiry(hold: inv.Hold) -> datetime:
    return hold.expire_time.ToDatetime(tzinfo=UTC)


async def create_hold(mesh, slot) -> inv.Hold:
    return await mesh.inventory.CreateHold(
        inv.CreateHoldRequest(
            slot=slot.name,
            vaccine="comirnaty",
            hold_id=new_id(),
            ttl_seconds=HOLD_TTL_SECONDS,
            request_id=new_id(),
        )
    )


def extend_request(hold: inv.Hold, expire_time: Timestamp | None):
    return inv.ExtendHoldRequest(
        name=hold.name,
        slot=hold.slot,
        vaccine=hold.vaccine,
        expire_time=expire_time,
        request_id=new_id(),
    )


async def extend(mesh, hold: inv.Hold, expires_at: datetime) -> inv.Hold:
    return await mesh.inventory.ExtendHold(
        extend_request(hold, to_timestamp(expires_at))
    )


async def commit(mesh, hold: inv.Hold) -> inv.Hold:
    """Commits with the slot, vaccine and expiry the caller last received."""
    return await mesh.inventory.CommitHold(
        inv.CommitHoldRequest(
            name=hold.name,
            slot=hold.slot,
            vaccine=hold.vaccine,
            expire_time=hold.expire_time,
            request_id=new_id(),
        )
    )


async def release(mesh, hold: inv.Hold) -> None:
    await mesh.inventory.ReleaseHold(
        inv.ReleaseHoldRequest(name=hold.name, request_id=new_id())
    )


async def seats(mesh, slot) -> tuple[int, int]:
    """Held and committed seats of the slot."""
    counts = (await availability(mesh, slot)).seats
    return counts.held, counts.committed


async def refusal(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    error = read_error(refused.value)
    return error.code, error.reason


# Both hold paths


async def test_an_extended_hold_outlives_its_first_expiry_and_commits(
    mesh, hold_path, slot
):
    hold = await create_hold(mesh, slot)
    assert hold.store == STORES[hold_path]

    extended = await extend(mesh, hold, expiry(hold) + EXTENSION)

    assert expiry(extended) == expiry(hold) + EXTENSION
    assert (extended.state, extended.store) == (inv.HOLD_STATE_HELD, hold.store)
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    assert await seats(mesh, slot) == (1, 0)
    committed = await commit(mesh, extended)
    assert committed.state == inv.HOLD_STATE_COMMITTED
    assert await seats(mesh, slot) == (0, 1)


async def test_an_extended_hold_runs_out_at_its_new_expiry(mesh, hold_path, slot):
    hold = await create_hold(mesh, slot)
    extended = await extend(mesh, hold, expiry(hold) + EXTENSION)

    mesh.clock.advance(HOLD_TTL_SECONDS + EXTENSION.total_seconds())

    assert await seats(mesh, slot) == (0, 0)
    assert await refusal(commit(mesh, extended)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "HOLD_EXPIRED",
    )


async def test_asking_for_an_earlier_expiry_changes_nothing(mesh, hold_path, slot):
    hold = await create_hold(mesh, slot)
    now = mesh.clock.now()

    sooner = await extend(mesh, hold, now + timedelta(seconds=1))
    past = await extend(mesh, hold, now - timedelta(minutes=5))

    assert expiry(sooner) == expiry(past) == expiry(hold)
    mesh.clock.advance(HOLD_TTL_SECONDS - 1)
    assert await seats(mesh, slot) == (1, 0)


async def test_a_retried_extension_returns_the_same_hold(mesh, hold_path, slot):
    hold = await create_hold(mesh, slot)
    request = extend_request(hold, to_timestamp(expiry(hold) + EXTENSION))

    first = await mesh.inventory.ExtendHold(request)
    again = await mesh.inventory.ExtendHold(request)

    assert again == first
    assert await seats(mesh, slot) == (1, 0)


@pytest.mark.parametrize("ending", ["expired", "committed", "released"])
async def test_a_hold_that_has_ended_cannot_be_extended(mesh, hold_path, slot, ending):
    hold = await create_hold(mesh, slot)
    if ending == "expired":
        mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    elif ending == "committed":
        await commit(mesh, hold)
    else:
        await release(mesh, hold)
    before = await availability(mesh, slot)

    refused = await refusal(extend(mesh, hold, mesh.clock.now() + EXTENSION))

    assert refused == (grpc.StatusCode.FAILED_PRECONDITION, "HOLD_EXPIRED")
    assert await availability(mesh, slot) == before


# The request


async def test_an_expiry_more_than_an_hour_ahead_is_refused_naming_the_field(
    mesh, slot
):
    hold = await create_hold(mesh, slot)
    too_late = to_timestamp(mesh.clock.now() + ONE_HOUR + timedelta(seconds=1))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.inventory.ExtendHold(extend_request(hold, too_late))

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(error.field_violations) == ["expire_time"]
    in_an_hour = await extend(mesh, hold, mesh.clock.now() + ONE_HOUR)
    assert expiry(in_an_hour) == mesh.clock.now() + ONE_HOUR


@pytest.mark.parametrize("expire_time", [YEAR_10000, None], ids=["invalid", "unset"])
async def test_a_missing_or_invalid_expiry_is_refused_naming_the_field(
    mesh, slot, expire_time
):
    hold = await create_hold(mesh, slot)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.inventory.ExtendHold(extend_request(hold, expire_time))

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(error.field_violations) == ["expire_time"]


# Redis going away and coming back


async def test_a_redis_hold_is_not_extended_while_redis_is_away(mesh, slot):
    hold = await create_hold(mesh, slot)

    async with redis_away(mesh):
        refused = await refusal(extend(mesh, hold, expiry(hold) + EXTENSION))

    assert refused == (grpc.StatusCode.UNAVAILABLE, "HOLD_STORE_UNAVAILABLE")
    extended = await extend(mesh, hold, expiry(hold) + EXTENSION)
    assert expiry(extended) == expiry(hold) + EXTENSION


async def test_a_rebuild_of_redis_keeps_an_extended_redis_hold(mesh, slot):
    hold = await create_hold(mesh, slot)
    extended = await extend(mesh, hold, expiry(hold) + EXTENSION)

    await mesh.servicers["inventory"].inventory.start()

    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    assert await seats(mesh, slot) == (1, 0)
    assert (await commit(mesh, extended)).state == inv.HOLD_STATE_COMMITTED


async def test_a_database_hold_extended_while_redis_is_away_keeps_it_in_redis(
    mesh, slot
):
    async with redis_away(mesh):
        hold = await create_hold(mesh, slot)
        extended = await extend(mesh, hold, expiry(hold) + EXTENSION)

    assert mesh.servicers["inventory"].inventory.redis_ready
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    assert await seats(mesh, slot) == (1, 0)
    assert (await commit(mesh, extended)).state == inv.HOLD_STATE_COMMITTED
    assert await seats(mesh, slot) == (0, 1)


async def test_a_database_hold_extended_after_redis_is_back_stays_held_in_redis(
    mesh, slot
):
    async with redis_away(mesh):
        hold = await create_hold(mesh, slot)

    extended = await extend(mesh, hold, expiry(hold) + EXTENSION)

    assert extended.store == inv.HOLD_STORE_DATABASE
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    assert await seats(mesh, slot) == (1, 0)
    assert (await commit(mesh, extended)).state == inv.HOLD_STATE_COMMITTED
    assert await seats(mesh, slot) == (0, 1)
