"""Many citizens on the last seats and doses: exactly the capacity is held."""

from __future__ import annotations

import asyncio
from collections import Counter

import grpc
import pytest

from services.common.errors import read_error
from tests.mesh import availability, bookers, make_clinic, make_slot, reserve_request

CALLERS = 2000
# Generous: this test is about who gets a hold, not how fast; a busy machine
# must not turn slow answers into failures.
CALL_TIMEOUT_SECONDS = 300
# A call the transport cancels is retried with the same request id, as a
# client would; the booking is idempotent, so a retry never takes a second
# hold.
ATTEMPTS = 3


async def _reserve_all(mesh, slot) -> Counter:
    stub = mesh.appointments
    citizens = await bookers(mesh, CALLERS)

    async def one(citizen: str) -> str:
        request = reserve_request(slot, citizen)
        for _ in range(ATTEMPTS):
            try:
                await stub.ReserveAppointment(request, timeout=CALL_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError as error:
                if error.code() is not grpc.StatusCode.CANCELLED:
                    return read_error(error).reason or error.code().name
            else:
                return "HELD"
        return "CANCELLED"

    return Counter(await asyncio.gather(*(one(c) for c in citizens)))


@pytest.mark.parametrize(
    ("seats", "doses", "refusal"),
    [(50, 10_000, "SLOT_FULL"), (10_000, 50, "OUT_OF_DOSES")],
    ids=["seats-tight", "doses-tight"],
)
async def test_2000_concurrent_reserves_hold_exactly_50(mesh, seats, doses, refusal):
    clinic = await make_clinic(mesh, doses=doses)
    slot = await make_slot(mesh, clinic, capacity=seats)

    outcomes = await _reserve_all(mesh, slot)

    assert outcomes == {"HELD": 50, refusal: CALLERS - 50}
    counts = await availability(mesh, slot)
    assert counts.seats.held == 50
    assert counts.doses.held == 50
    assert min(counts.seats.free, counts.doses.free) == 0
