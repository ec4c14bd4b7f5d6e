"""Holds that run out, and calls retried with the same request id."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt

from services.common.errors import read_error
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

HOLD_TTL_SECONDS = 300


async def test_run_out_hold_returns_seat_and_dose_and_reads_expired(mesh):
    clinic = await make_clinic(mesh, doses=4)
    slot = await make_slot(mesh, clinic, capacity=2)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )

    mesh.clock.advance(HOLD_TTL_SECONDS + 1)

    counts = await availability(mesh, slot)
    assert (counts.seats.held, counts.seats.free) == (0, 2)
    assert (counts.doses.held, counts.doses.free) == (0, 4)
    seen = await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=reserved.name)
    )
    assert seen.state == appt.APPOINTMENT_STATE_EXPIRED
    assert seen.end_reason == "HOLD_EXPIRED"


async def test_confirm_after_expiry_fails_and_changes_nothing(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, capacity=2)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    before = await availability(mesh, slot)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ConfirmAppointment(
            appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
        )

    error = read_error(refused.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "HOLD_EXPIRED",
    )
    assert await availability(mesh, slot) == before
    assert before.seats.committed == 0
    seen = await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=reserved.name)
    )
    assert seen.state == appt.APPOINTMENT_STATE_EXPIRED


async def test_expired_hold_no_longer_blocks_a_new_booking_of_the_dose(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    citizen = await booker(mesh)
    await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)

    again = await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))

    assert again.state == appt.APPOINTMENT_STATE_PENDING
    assert (await availability(mesh, slot)).seats.held == 1


async def test_retried_reserve_returns_same_appointment_and_one_hold(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    request = reserve_request(slot, await booker(mesh))

    first = await mesh.appointments.ReserveAppointment(request)
    retries = await asyncio.gather(
        *(mesh.appointments.ReserveAppointment(request) for _ in range(10))
    )

    assert {r.name for r in retries} == {first.name}
    assert (await availability(mesh, slot)).seats.held == 1


async def test_concurrent_first_reserves_with_one_request_id_make_one_hold(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    request = reserve_request(slot, await booker(mesh))

    results = await asyncio.gather(
        *(mesh.appointments.ReserveAppointment(request) for _ in range(10))
    )

    assert len({r.name for r in results}) == 1
    assert (await availability(mesh, slot)).seats.held == 1


async def test_request_id_reused_for_another_booking_is_refused(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    request = reserve_request(slot, await booker(mesh))
    await mesh.appointments.ReserveAppointment(request)
    other = reserve_request(slot, await booker(mesh))
    other.request_id = request.request_id

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ReserveAppointment(other)

    assert read_error(refused.value).reason == "REQUEST_ID_REUSED"


async def test_retried_confirm_and_cancel_are_harmless(mesh):
    clinic = await make_clinic(mesh, doses=3)
    slot = await make_slot(mesh, clinic, capacity=3)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    confirm = appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    cancel = appt.CancelAppointmentRequest(name=reserved.name, request_id=new_id())

    confirmed = [await mesh.appointments.ConfirmAppointment(confirm) for _ in range(3)]
    assert {c.state for c in confirmed} == {appt.APPOINTMENT_STATE_CONFIRMED}
    assert (await availability(mesh, slot)).seats.committed == 1

    cancelled = await asyncio.gather(
        *(mesh.appointments.CancelAppointment(cancel) for _ in range(3))
    )
    assert {c.state for c in cancelled} == {appt.APPOINTMENT_STATE_CANCELLED}
    counts = await availability(mesh, slot)
    assert (counts.seats.free, counts.seats.committed, counts.seats.held) == (3, 0, 0)
    assert (counts.doses.free, counts.doses.committed) == (3, 0)
