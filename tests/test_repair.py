"""A booking step interrupted half-way is finished or compensated by the repair
job: confirms that committed the hold become CONFIRMED, owed releases are paid,
and run-out holds are recorded as EXPIRED."""

from __future__ import annotations

from sqlalchemy import update
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.appointment.tables import appointments
from services.common.names import HOLD, SLOT
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

HOLD_TTL_SECONDS = 300


def _booking(mesh):
    return mesh.servicers["appointment"].booking


def _id(appointment: appt.Appointment) -> str:
    return appointment.name.rsplit("/", 1)[1]


async def _set(mesh, appointment: appt.Appointment, **values) -> None:
    """Leaves a row as a crash between two steps would have left it."""
    engine = _booking(mesh).store.engine
    async with engine.begin() as conn:
        await conn.execute(
            update(appointments)
            .where(appointments.c.id == _id(appointment))
            .values(**values)
        )


async def _get(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=appointment.name)
    )


async def test_confirm_interrupted_after_commit_is_finished(mesh):
    clinic = await make_clinic(mesh, doses=3)
    slot = await make_slot(mesh, clinic, capacity=3)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    # The confirm recorded its intent and committed the hold, then died.
    await _set(mesh, reserved, confirm_requested=True)
    ids = SLOT.parse(slot.name)
    await mesh.inventory.CommitHold(
        inv.CommitHoldRequest(
            name=HOLD.format(clinic=ids["clinic"], hold=_id(reserved)),
            slot=slot.name,
            vaccine="comirnaty",
            expire_time=reserved.hold_expire_time,
            request_id=new_id(),
        )
    )
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)

    await _booking(mesh).repair()

    assert (await _get(mesh, reserved)).state == appt.APPOINTMENT_STATE_CONFIRMED
    counts = await availability(mesh, slot)
    assert (counts.seats.committed, counts.seats.held) == (1, 0)


async def test_cancel_interrupted_before_release_gives_the_seat_back(mesh):
    clinic = await make_clinic(mesh, doses=3)
    slot = await make_slot(mesh, clinic, capacity=3)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    # The cancel was recorded, then the process died before releasing.
    await _set(mesh, reserved, state="CANCELLED", release_pending=True)
    assert (await availability(mesh, slot)).seats.committed == 1

    await _booking(mesh).repair()

    counts = await availability(mesh, slot)
    assert (counts.seats.free, counts.doses.free) == (3, 3)


async def test_run_out_hold_is_recorded_expired_and_released(mesh):
    clinic = await make_clinic(mesh, doses=3)
    slot = await make_slot(mesh, clinic, capacity=3)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)

    await _booking(mesh).repair()

    row = await _booking(mesh).store.get(_id(reserved))
    assert (row.state, row.end_reason, row.release_pending) == (
        "EXPIRED",
        "HOLD_EXPIRED",
        False,
    )
    assert (await availability(mesh, slot)).seats.free == 3
