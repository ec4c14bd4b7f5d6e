"""A clinic's day of appointments as its staff list it, against the real
servers: ever-confirmed appointments by slot start, a page at a time, for
that clinic's staff only, each listing recorded for the audit trail."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin

from services.appointment.servicer import SERVICE
from services.appointment.tables import outbox as appointment_outbox
from services.common.auth import Role
from services.common.clock import to_timestamp
from services.common.errors import read_error
from tests.mesh import (
    booker,
    events_of,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)
from tests.test_scanning import (
    Scanner,
    batch,
    confirmed,
    qr_code,
    slot_today,
    staff_of,
)

LIST_RPC = f"/{SERVICE}/ListClinicAppointments"


def listing(clinic: clin.Clinic, **fields) -> appt.ListClinicAppointmentsRequest:
    return appt.ListClinicAppointmentsRequest(parent=clinic.name, **fields)


async def every_page(mesh, request, metadata) -> list[list[str]]:
    """The names listed on each page, following the page tokens."""
    pages = []
    while True:
        page = await mesh.appointments.ListClinicAppointments(
            request, metadata=metadata
        )
        pages.append([a.name for a in page.appointments])
        if not page.next_page_token:
            return pages
        request.page_token = page.next_page_token


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_error(raised.value)


@pytest.fixture
async def clinic(mesh) -> clin.Clinic:
    return await make_clinic(mesh)


async def test_staff_list_their_clinics_appointments_by_slot_start_a_page_at_a_time(
    mesh, clinic
):
    later = await make_slot(mesh, clinic, days_ahead=3)
    earlier = await make_slot(mesh, clinic, days_ahead=2)
    late_first = await confirmed(mesh, later)
    early_first = await confirmed(mesh, earlier)
    mesh.clock.advance(1)
    early_second = await confirmed(mesh, earlier)
    await mesh.appointments.ReserveAppointment(
        reserve_request(earlier, await booker(mesh))
    )
    await confirmed(mesh, await make_slot(mesh, await make_clinic(mesh)))

    pages = await every_page(mesh, listing(clinic, page_size=2), staff_of(mesh, clinic))

    assert pages == [
        [early_first.name, early_second.name],
        [late_first.name],
    ]


async def test_a_slot_or_a_window_of_slot_starts_narrows_the_list(mesh, clinic):
    later = await make_slot(mesh, clinic, days_ahead=3)
    earlier = await make_slot(mesh, clinic, days_ahead=2)
    late = await confirmed(mesh, later)
    early = await confirmed(mesh, earlier)
    staff = staff_of(mesh, clinic)
    day_after = mesh.clock.now() + timedelta(days=2, hours=12)

    by_slot = await every_page(mesh, listing(clinic, slot=later.name), staff)
    before = await every_page(
        mesh, listing(clinic, start_time_before=to_timestamp(day_after)), staff
    )
    after = await every_page(
        mesh, listing(clinic, start_time_from=to_timestamp(day_after)), staff
    )

    assert by_slot == [[late.name]]
    assert before == [[early.name]]
    assert after == [[late.name]]


async def test_an_administered_appointment_is_listed_with_its_batch(mesh, clinic):
    number = await batch(mesh, clinic)
    given = await confirmed(mesh, await slot_today(mesh, clinic))
    waiting = await confirmed(mesh, await slot_today(mesh, clinic))
    async with Scanner(mesh, clinic) as scanner:
        await scanner.scan((await qr_code(mesh, given)).token)
        await scanner.record(given.name, number)

    listed = await mesh.appointments.ListClinicAppointments(
        listing(clinic), metadata=staff_of(mesh, clinic)
    )

    by_name = {a.name: a for a in listed.appointments}
    assert by_name[given.name].state == appt.APPOINTMENT_STATE_ADMINISTERED
    assert by_name[given.name].administration.batch == (
        f"{clinic.name}/batches/{number}"
    )
    assert by_name[given.name].citizen == given.citizen
    assert by_name[waiting.name].state == appt.APPOINTMENT_STATE_CONFIRMED
    assert not by_name[waiting.name].HasField("administration")


async def test_another_clinics_staff_and_citizens_are_refused(mesh, clinic):
    booked = await confirmed(mesh, await make_slot(mesh, clinic))
    elsewhere = staff_of(mesh, await make_clinic(mesh))

    other_staff = await refused(
        mesh.appointments.ListClinicAppointments(listing(clinic), metadata=elsewhere)
    )
    citizen = await refused(
        mesh.appointments.ListClinicAppointments(
            listing(clinic), metadata=mesh.token(booked.citizen)
        )
    )

    assert other_staff.reason == "NOT_OWNER"
    assert citizen.reason == "ROLE_NOT_ALLOWED"


async def test_each_appointment_listed_to_staff_is_recorded_as_viewed(
    mesh, clinic, database_url
):
    slot = await make_slot(mesh, clinic)
    booked = [await confirmed(mesh, slot), await confirmed(mesh, slot)]
    staff = f"staffAccounts/{new_id()}"

    await mesh.appointments.ListClinicAppointments(
        listing(clinic), metadata=mesh.token(staff, Role.CLINIC_STAFF, [clinic.name])
    )
    await mesh.appointments.ListClinicAppointments(listing(clinic))

    views = await events_of(database_url, appointment_outbox, "personal_data_viewed")
    seen = [v for v in views if v.clinic == clinic.name]
    assert sorted(v.appointment for v in seen) == sorted(a.name for a in booked)
    assert {(v.actor, v.actor_role, v.rpc) for v in seen} == {
        (staff, Role.CLINIC_STAFF.value, LIST_RPC)
    }
    assert {v.citizen for v in seen} == {a.citizen for a in booked}
