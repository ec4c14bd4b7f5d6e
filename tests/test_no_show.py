"""The no-show sweeper: a confirmed appointment whose window and grace period
passed becomes NO_SHOW once, with its seat and dose back, even with two
sweepers at work."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.events.v1 import events_pb2

from services.appointment.tables import outbox
from services.common.db import create_engine
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

SLOT_MINUTES = 30


async def booked_now(mesh):
    """A slot starting now, and a confirmed appointment in it."""
    clinic = await make_clinic(mesh, doses=5)
    slot = await make_slot(mesh, clinic, capacity=3, days_ahead=0)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    confirmed = await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    assert confirmed.state == appt.APPOINTMENT_STATE_CONFIRMED
    return slot, confirmed


def sweeper(mesh):
    return mesh.servicers["appointment"].booking


async def test_a_confirmed_appointment_is_kept_until_its_grace_period_ends(mesh):
    slot, confirmed = await booked_now(mesh)
    booking = sweeper(mesh)
    mesh.clock.advance(SLOT_MINUTES * 60 + booking.no_show_grace_seconds - 60)

    await booking.sweep_no_shows()

    current = await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=confirmed.name)
    )
    assert current.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert (await availability(mesh, slot)).seats.committed == 1


async def test_two_sweepers_mark_a_missed_appointment_no_show_once(mesh, database_url):
    slot, confirmed = await booked_now(mesh)
    booking = sweeper(mesh)
    mesh.clock.advance(SLOT_MINUTES * 60 + booking.no_show_grace_seconds + 1)

    await asyncio.gather(booking.sweep_no_shows(), booking.sweep_no_shows())

    missed = await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=confirmed.name)
    )
    assert missed.state == appt.APPOINTMENT_STATE_NO_SHOW
    assert missed.end_reason == "NO_SHOW"
    counts = await availability(mesh, slot)
    assert (counts.seats.committed, counts.seats.free) == (0, 3)
    assert (counts.doses.committed, counts.doses.free) == (0, 5)
    assert await no_show_events(database_url, confirmed.name) == 1


async def no_show_events(database_url: str, appointment: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            payloads = await conn.scalars(
                select(outbox.c.payload).where(outbox.c.subject.like("%.no_show"))
            )
            events = [events_pb2.Event.FromString(p) for p in payloads]
    finally:
        await engine.dispose()
    return sum(
        e.appointment_no_show.appointment.appointment == appointment for e in events
    )
