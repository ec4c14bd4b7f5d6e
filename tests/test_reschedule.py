"""Rescheduling: a CONFIRMED appointment moves to another slot only once the
new seat and dose are committed; then the old one ends as RESCHEDULED and
gives its seat back, in the same transaction as the new one's confirmation."""

from __future__ import annotations

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt

from services.appointment.tables import outbox
from services.common.errors import read_error
from tests.mesh import (
    availability,
    booker,
    events_of,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

CONFIRMED = appt.APPOINTMENT_STATE_CONFIRMED
CANCELLED = appt.APPOINTMENT_STATE_CANCELLED


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_error(raised.value)


async def confirmed(mesh, slot) -> appt.Appointment:
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    return await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )


async def current(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=appointment.name)
    )


def reschedule(mesh, appointment, slot, request_id=None, metadata=None):
    return mesh.appointments.RescheduleAppointment(
        appt.RescheduleAppointmentRequest(
            name=appointment.name, slot=slot.name, request_id=request_id or new_id()
        ),
        metadata=metadata or mesh.token(appointment.citizen),
    )


async def two_slots(mesh, new_capacity: int = 5):
    clinic = await make_clinic(mesh)
    old = await make_slot(mesh, clinic, capacity=5, days_ahead=2)
    new = await make_slot(mesh, clinic, capacity=new_capacity, days_ahead=4)
    return old, new


async def test_rescheduling_moves_the_booking_and_its_seat(mesh, database_url):
    old_slot, new_slot = await two_slots(mesh)
    booked = await confirmed(mesh, old_slot)

    moved = await reschedule(mesh, booked, new_slot)

    assert moved.name != booked.name
    assert (moved.state, moved.slot) == (CONFIRMED, new_slot.name)
    assert (moved.citizen, moved.vaccine, moved.dose_number) == (
        booked.citizen,
        booked.vaccine,
        booked.dose_number,
    )
    assert moved.eligibility == booked.eligibility
    ended = await current(mesh, booked)
    assert (ended.state, ended.end_reason) == (CANCELLED, "RESCHEDULED")
    old_counts = await availability(mesh, old_slot)
    assert (old_counts.seats.committed, old_counts.seats.free) == (0, 5)
    new_counts = await availability(mesh, new_slot)
    assert (new_counts.seats.committed, new_counts.seats.held) == (1, 0)
    cancellations = await events_of(database_url, outbox, "appointment_cancelled")
    assert any(
        e.appointment.appointment == booked.name and e.reason == "RESCHEDULED"
        for e in cancellations
    )
    confirmations = await events_of(database_url, outbox, "appointment_confirmed")
    assert any(e.appointment.appointment == moved.name for e in confirmations)


async def test_a_full_slot_refuses_and_the_booking_stays_where_it_was(mesh):
    old_slot, full_slot = await two_slots(mesh, new_capacity=1)
    await confirmed(mesh, full_slot)
    booked = await confirmed(mesh, old_slot)

    error = await refused(reschedule(mesh, booked, full_slot))

    assert error.reason == "SLOT_FULL"
    assert (await current(mesh, booked)).state == CONFIRMED
    assert (await availability(mesh, old_slot)).seats.committed == 1
    full = await availability(mesh, full_slot)
    assert (full.seats.committed, full.seats.held) == (1, 0)


async def test_a_retry_returns_the_same_new_appointment_and_takes_one_seat(mesh):
    old_slot, new_slot = await two_slots(mesh)
    booked = await confirmed(mesh, old_slot)
    request_id = new_id()

    first = await reschedule(mesh, booked, new_slot, request_id)
    again = await reschedule(mesh, booked, new_slot, request_id)

    assert again.name == first.name
    assert again.state == CONFIRMED
    counts = await availability(mesh, new_slot)
    assert (counts.seats.committed, counts.seats.held) == (1, 0)


async def test_another_citizen_cannot_reschedule_the_appointment(mesh):
    old_slot, new_slot = await two_slots(mesh)
    booked = await confirmed(mesh, old_slot)
    stranger = mesh.token(f"citizens/{new_id()}")

    error = await refused(reschedule(mesh, booked, new_slot, metadata=stranger))

    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert (await current(mesh, booked)).state == CONFIRMED
    assert (await availability(mesh, new_slot)).seats.free == 5


async def test_an_appointment_not_confirmed_cannot_be_rescheduled(mesh):
    old_slot, new_slot = await two_slots(mesh)
    pending = await mesh.appointments.ReserveAppointment(
        reserve_request(old_slot, await booker(mesh))
    )

    error = await refused(reschedule(mesh, pending, new_slot))

    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "APPOINTMENT_NOT_CONFIRMED"
    assert "PENDING" in error.message
    assert (await availability(mesh, new_slot)).seats.free == 5


async def test_the_same_slot_is_refused(mesh):
    old_slot, _ = await two_slots(mesh)
    booked = await confirmed(mesh, old_slot)

    error = await refused(reschedule(mesh, booked, old_slot))

    assert error.reason == "SAME_SLOT"
    assert (await availability(mesh, old_slot)).seats.committed == 1
