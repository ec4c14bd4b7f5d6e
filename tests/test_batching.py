"""Concurrent requests share one call, and each caller gets its own outcome."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.batching import Batcher
from services.common.errors import from_status_proto
from tests.mesh import make_clinic, make_slot, new_id


class Refused(Exception):
    pass


async def test_concurrent_submissions_are_handled_in_few_calls():
    batches: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0)
        return [item * 2 for item in items]

    batcher = Batcher(double, max_batch=50, max_in_flight=1)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(120)))

    assert results == [i * 2 for i in range(120)]
    assert sorted(item for batch in batches for item in batch) == list(range(120))
    assert len(batches) <= 4
    assert max(len(batch) for batch in batches) <= 50


async def test_an_item_refusal_reaches_only_its_caller():
    async def odd_refused(items: list[int]) -> list[int | Exception]:
        return [Refused(item) if item % 2 else item for item in items]

    batcher = Batcher(odd_refused)
    outcomes = await asyncio.gather(
        *(batcher.submit(i) for i in range(6)), return_exceptions=True
    )

    assert outcomes[0::2] == [0, 2, 4]
    assert all(isinstance(outcome, Refused) for outcome in outcomes[1::2])


async def test_a_failed_batch_reaches_every_caller():
    async def broken(items: list[int]) -> list[int]:
        raise Refused("store down")

    batcher = Batcher(broken)
    outcomes = await asyncio.gather(
        *(batcher.submit(i) for i in range(3)), return_exceptions=True
    )

    assert all(isinstance(outcome, Refused) for outcome in outcomes)


async def test_batch_create_holds_reports_each_hold_or_refusal(mesh):
    clinic = await make_clinic(mesh, doses=10)
    slot = await make_slot(mesh, clinic, capacity=2)

    def hold_request(slot_name: str, vaccine: str = "comirnaty"):
        return inv.CreateHoldRequest(
            slot=slot_name,
            vaccine=vaccine,
            hold_id=new_id(),
            ttl_seconds=60,
            request_id=new_id(),
        )

    response = await mesh.inventory.BatchCreateHolds(
        inv.BatchCreateHoldsRequest(
            requests=[
                hold_request(slot.name),
                hold_request(slot.name),
                hold_request(slot.name),
                hold_request(f"{clinic.name}/slots/{new_id()}"),
                hold_request(slot.name, vaccine=""),
            ]
        )
    )

    # The three requests for two seats run together: any two of them win.
    contested = [
        from_status_proto(r.error) for r in response.results[:3] if r.error.code
    ]
    assert sum(r.WhichOneof("result") == "hold" for r in response.results[:3]) == 2
    assert [r.reason for r in contested] == ["SLOT_FULL"]
    unknown_slot, no_vaccine = (
        from_status_proto(r.error) for r in response.results[3:]
    )
    assert unknown_slot.reason == "SLOT_NOT_FOUND"
    assert no_vaccine.code == grpc.StatusCode.INVALID_ARGUMENT
    assert no_vaccine.violations[0].field == "vaccine"


async def test_an_empty_batch_is_invalid(mesh):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.inventory.BatchCreateHolds(inv.BatchCreateHoldsRequest())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
