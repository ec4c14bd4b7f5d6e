"""Who may do what across the mesh: citizens act only for themselves and
their dependants, staff read only their clinics' appointments, holds are for
services alone, and a bad token is refused by every service, not only auth."""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stdnum import verhoeff
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.common.access import ServiceAccess, service_signer
from services.common.auth import Principal, Role, TokenSigner, bearer
from services.common.clock import FakeClock
from services.common.errors import read_error
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_error(raised.value)


def as_citizen(mesh, citizen: str):
    return mesh.token(f"citizens/{citizen}")


@pytest.fixture(scope="module")
async def slot(mesh):
    clinic = await make_clinic(mesh)
    return await make_slot(mesh, clinic, capacity=50)


async def test_a_citizen_books_confirms_and_cancels_their_own_appointment(mesh, slot):
    citizen = await booker(mesh)
    token = as_citizen(mesh, citizen)

    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, citizen), metadata=token
    )
    confirmed = await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id()),
        metadata=token,
    )
    cancelled = await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=reserved.name, request_id=new_id()),
        metadata=token,
    )

    assert confirmed.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert cancelled.state == appt.APPOINTMENT_STATE_CANCELLED


async def test_a_citizen_cannot_book_read_or_cancel_for_another_citizen(mesh, slot):
    owner, intruder = await booker(mesh), await booker(mesh)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, owner), metadata=as_citizen(mesh, owner)
    )
    token = as_citizen(mesh, intruder)
    stub = mesh.appointments

    refusals = [
        await refused(
            stub.ReserveAppointment(reserve_request(slot, owner), metadata=token)
        ),
        await refused(
            stub.GetAppointment(
                appt.GetAppointmentRequest(name=reserved.name), metadata=token
            )
        ),
        await refused(
            stub.ListAppointments(
                appt.ListAppointmentsRequest(parent=f"citizens/{owner}"), metadata=token
            )
        ),
        await refused(
            stub.ConfirmAppointment(
                appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id()),
                metadata=token,
            )
        ),
        await refused(
            stub.CancelAppointment(
                appt.CancelAppointmentRequest(name=reserved.name, request_id=new_id()),
                metadata=token,
            )
        ),
    ]

    for refusal in refusals:
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "NOT_OWNER",
        )
    still = await stub.GetAppointment(appt.GetAppointmentRequest(name=reserved.name))
    assert still.state == appt.APPOINTMENT_STATE_PENDING


async def test_a_citizen_books_for_their_dependant_and_nobody_else_can(mesh, slot):
    parent = await mesh.auth.SignUp(
        auth.SignUpRequest(
            national_id=_national_id(),
            contact=auth.Contact(email=f"{new_id()}@example.org"),
            request_id=new_id(),
        )
    )
    parent_id = parent.name.removeprefix("citizens/")
    parent_token = as_citizen(mesh, parent_id)
    dependant = await mesh.auth.AddDependant(
        auth.AddDependantRequest(
            parent=parent.name,
            dependant=auth.Dependant(
                display_name="Arjun", relationship=auth.RELATIONSHIP_PARENT
            ),
            request_id=new_id(),
        ),
        metadata=parent_token,
    )
    person = dependant.name.removeprefix("citizens/")
    await booker(mesh, citizen=person)
    request = reserve_request(slot, person)

    other = await refused(
        mesh.appointments.ReserveAppointment(
            request, metadata=as_citizen(mesh, await booker(mesh))
        )
    )
    booked = await mesh.appointments.ReserveAppointment(request, metadata=parent_token)
    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=dependant.name), metadata=parent_token
    )

    assert other.reason == "NOT_OWNER"
    assert booked.citizen == dependant.name
    assert booked.eligibility == appt.ELIGIBILITY_STATE_PASSED
    assert [a.name for a in listed.appointments] == [booked.name]


async def test_staff_read_appointments_at_their_clinics_only(mesh, slot):
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    clinic = slot.name.rsplit("/slots/", 1)[0]
    request = appt.GetAppointmentRequest(name=reserved.name)
    staff = f"staffAccounts/{new_id()}"

    seen = await mesh.appointments.GetAppointment(
        request, metadata=mesh.token(staff, Role.CLINIC_STAFF, [clinic])
    )
    elsewhere = await refused(
        mesh.appointments.GetAppointment(
            request, metadata=mesh.token(staff, Role.CLINIC_STAFF, ["clinics/other"])
        )
    )
    booking = await refused(
        mesh.appointments.ReserveAppointment(
            reserve_request(slot, await booker(mesh)),
            metadata=mesh.token(staff, Role.CLINIC_STAFF, [clinic]),
        )
    )

    assert seen.name == reserved.name
    assert elsewhere.reason == "NOT_OWNER"
    assert booking.reason == "ROLE_NOT_ALLOWED"


async def test_holds_are_taken_by_services_only(mesh, slot):
    citizen = await booker(mesh)
    request = inv.CreateHoldRequest(
        slot=slot.name,
        vaccine="comirnaty",
        hold_id=new_id(),
        ttl_seconds=60,
        request_id=new_id(),
    )

    held_before = (await availability(mesh, slot)).seats.held

    refusal = await refused(
        mesh.inventory.CreateHold(request, metadata=as_citizen(mesh, citizen))
    )

    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_ALLOWED",
    )
    assert (await availability(mesh, slot)).seats.held == held_before


async def test_availability_is_public_and_booking_needs_a_token(mesh, slot):
    anonymous_inventory = inventory_pb2_grpc.InventoryServiceStub(
        mesh.anonymous("inventory")
    )
    anonymous_appointments = appointment_pb2_grpc.AppointmentServiceStub(
        mesh.anonymous("appointment")
    )

    counts = await anonymous_inventory.GetAvailability(
        inv.GetAvailabilityRequest(slot=slot.name, vaccine="comirnaty")
    )
    refusal = await refused(
        anonymous_appointments.ReserveAppointment(
            reserve_request(slot, await booker(mesh))
        )
    )

    assert counts.seats.total == 50
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
    )


# Bad tokens, refused by a service other than auth


def auth_signer(mesh) -> TokenSigner:
    return mesh.servicers["auth"].keys.signer


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (
            lambda mesh, p: auth_signer(mesh).mint(p, ttl_seconds=1).token,
            "TOKEN_EXPIRED",
        ),
        (
            lambda mesh, p: auth_signer(mesh).mint(p, audience="elsewhere").token,
            "INVALID_TOKEN",
        ),
        (
            # Signed by a key nobody published, under the real key id.
            lambda mesh, p: (
                TokenSigner(
                    auth_signer(mesh).key_id, Ed25519PrivateKey.generate(), mesh.clock
                )
                .mint(p)
                .token
            ),
            "INVALID_TOKEN",
        ),
        (
            lambda mesh, p: (
                TokenSigner("unknown-key", Ed25519PrivateKey.generate(), mesh.clock)
                .mint(p)
                .token
            ),
            "UNKNOWN_SIGNING_KEY",
        ),
    ],
    ids=["expired", "wrong-audience", "forged", "unknown-key"],
)
async def test_a_bad_token_is_refused_by_the_appointment_service(
    mesh, slot, forge, reason
):
    citizen = await booker(mesh)
    token = forge(mesh, Principal(f"citizens/{citizen}", Role.CITIZEN))
    mesh.clock.advance(120)

    refusal = await refused(
        mesh.appointments.ListAppointments(
            appt.ListAppointmentsRequest(parent=f"citizens/{citizen}"),
            metadata=bearer(token),
        )
    )

    assert (refusal.code, refusal.reason) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_the_service_key_cannot_vouch_for_a_citizen(mesh, settings):
    signer = service_signer(settings.service_key, mesh.clock)
    citizen = await booker(mesh)
    token = signer.mint(Principal(f"citizens/{citizen}", Role.CITIZEN)).token

    refusal = await refused(
        mesh.appointments.ListAppointments(
            appt.ListAppointmentsRequest(parent=f"citizens/{citizen}"),
            metadata=bearer(token),
        )
    )

    assert refusal.reason == "INVALID_TOKEN"


async def test_a_rotated_signing_key_is_trusted_by_other_services_at_once(mesh):
    citizen = await booker(mesh)
    keys = mesh.servicers["auth"].keys
    old_key = keys.signer.key_id
    await keys.rotate()
    mesh.clock.advance(10)

    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=f"citizens/{citizen}"),
        metadata=as_citizen(mesh, citizen),
    )
    await keys.retire(old_key)

    assert keys.signer.key_id != old_key
    assert list(listed.appointments) == []


async def test_a_key_reload_under_way_is_awaited_by_calls_arriving_meanwhile(
    settings,
):
    # A token signed with a new key reaches a service twice at once: the
    # second call must wait for the reload the first started, not be refused.
    access = ServiceAccess(settings, FakeClock(), "appointment", auth_keys=dict)
    reloads = 0

    async def slow_fetch() -> dict:
        nonlocal reloads
        reloads += 1
        await asyncio.sleep(0.05)
        return {"new-key": Ed25519PrivateKey.generate().public_key()}

    access._fetch = slow_fetch

    first, second = await asyncio.gather(access.refresh(), access.refresh())

    assert (first, second, reloads) == (True, True, 1)
    assert "new-key" in access.verifier.public_keys


def _national_id() -> str:
    body = f"{random.randrange(2, 10)}{random.randrange(10**10):010d}"
    return body + verhoeff.calc_check_digit(body)
