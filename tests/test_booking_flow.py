"""The hold → confirm → cancel flow through the real services."""

from __future__ import annotations

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

PENDING = appt.APPOINTMENT_STATE_PENDING
CONFIRMED = appt.APPOINTMENT_STATE_CONFIRMED


async def test_reserve_confirm_cancel_moves_seat_and_dose(mesh):
    clinic = await make_clinic(mesh, doses=5)
    slot = await make_slot(mesh, clinic, capacity=3)

    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    assert reserved.state == PENDING
    counts = await availability(mesh, slot)
    assert (counts.seats.held, counts.seats.free) == (1, 2)
    assert (counts.doses.held, counts.doses.free) == (1, 4)

    confirmed = await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    assert confirmed.state == CONFIRMED
    counts = await availability(mesh, slot)
    assert (counts.seats.held, counts.seats.committed) == (0, 1)

    cancelled = await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    assert cancelled.state == appt.APPOINTMENT_STATE_CANCELLED
    counts = await availability(mesh, slot)
    assert (counts.seats.free, counts.doses.free) == (3, 5)


async def test_second_active_booking_for_same_dose_is_already_booked(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    citizen = await booker(mesh)
    await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "ALREADY_BOOKED"
    assert (await availability(mesh, slot)).seats.held == 1
