"""Eligibility inside the booking flow, against the real mesh and the stand-in
insurance API: refusals give the seat back at once with every reason, Confirm
waits for a verdict, the retry policy keeps the hold alive and then lets it
go, and the provisional policy leaves the decision to a reviewer."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, timedelta

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.eligibility.v1 import eligibility_pb2 as elig

from services.common.auth import Role
from services.common.errors import read_error
from services.devstack import create_database, drop_database
from services.eligibility.retry import RetrySchedule
from services.migrate import migrate
from tests.conftest import RUN_ID
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
    start_mesh,
)
from tests.polling import eventually

PENDING = appt.APPOINTMENT_STATE_PENDING
REJECTED = appt.APPOINTMENT_STATE_REJECTED


@pytest.fixture
async def insurer_down(insurer):
    insurer.standin.change_faults({"outage": True})
    yield insurer
    insurer.standin.change_faults({"outage": False})


async def reserve(mesh, slot, citizen, vaccine="comirnaty") -> appt.Appointment:
    return await mesh.appointments.ReserveAppointment(
        reserve_request(slot, citizen, vaccine=vaccine)
    )


async def confirm(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=appointment.name, request_id=new_id())
    )


async def get(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=appointment.name)
    )


# Refusals


async def test_an_ineligible_booking_is_rejected_with_every_reason_and_frees_its_seat(
    mesh,
):
    clinic = await make_clinic(mesh, doses=10)
    slot = await make_slot(mesh, clinic, capacity=2)
    child = await booker(
        mesh, birth_date="2019-06-01", allergies=["polyethylene glycol"]
    )

    refused = await reserve(mesh, slot, child)

    assert refused.state == REJECTED
    assert refused.eligibility == appt.ELIGIBILITY_STATE_FAILED
    assert refused.end_reason == "NOT_ELIGIBLE"
    assert [r.code for r in refused.reasons] == [
        "TOO_YOUNG",
        "ALLERGY_CONTRAINDICATION",
        "CONSENT_REQUIRED",
    ]
    assert refused.reasons[0].message == (
        "Comirnaty is given from the age of 12; you can book it from 1 June 2031."
    )
    assert refused.rules_version == "2027.1"
    counts = await availability(mesh, slot)
    assert (counts.seats.held, counts.seats.free) == (0, 2)
    assert (counts.doses.held, counts.doses.free) == (0, 10)
    assert (await get(mesh, refused)).reasons == refused.reasons


async def test_a_person_without_a_patient_record_is_rejected(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)

    refused = await reserve(mesh, slot, new_id())

    assert refused.state == REJECTED
    assert [r.code for r in refused.reasons] == ["PATIENT_RECORD_MISSING"]
    assert (await availability(mesh, slot)).seats.held == 0


async def test_a_rejected_booking_cannot_be_confirmed(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    refused = await reserve(mesh, slot, await booker(mesh, birth_date="2020-01-01"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await confirm(mesh, refused)

    assert read_error(raised.value).reason == "APPOINTMENT_NOT_PENDING"


# Insurance down: the provisional policy (spikevax)


async def test_provisional_booking_confirms_flagged_and_a_rejection_frees_the_seat(
    mesh, insurer_down
):
    clinic = await make_clinic(mesh, vaccines=("spikevax",), doses=5)
    slot = await make_slot(mesh, clinic, capacity=3)

    reserved = await reserve(mesh, slot, await booker(mesh), "spikevax")
    assert (reserved.state, reserved.eligibility) == (
        PENDING,
        appt.ELIGIBILITY_STATE_PROVISIONAL,
    )
    assert reserved.review_required
    confirmed = await confirm(mesh, reserved)
    assert confirmed.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert confirmed.review_required

    case = await review_case_of(mesh, reserved)
    assert case.reason == "INSURANCE_UNAVAILABLE"
    decided = await mesh.eligibility.RejectReviewCase(
        elig.RejectReviewCaseRequest(
            name=case.name, note="No cover on record", request_id=new_id()
        ),
        metadata=mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER),
    )

    assert decided.state == elig.REVIEW_STATE_REJECTED
    assert decided.decision_applied
    cancelled = await get(mesh, reserved)
    assert cancelled.state == appt.APPOINTMENT_STATE_CANCELLED
    assert cancelled.end_reason == "REVIEW_REJECTED"
    assert not cancelled.review_required
    assert cancelled.reasons[-1].message == "No cover on record"
    counts = await availability(mesh, slot, "spikevax")
    assert (counts.seats.committed, counts.seats.free) == (0, 3)
    assert (counts.doses.committed, counts.doses.free) == (0, 5)


async def test_an_approving_review_keeps_the_appointment_and_clears_the_flag(
    mesh, insurer_down
):
    clinic = await make_clinic(mesh, vaccines=("spikevax",))
    slot = await make_slot(mesh, clinic)
    reserved = await reserve(mesh, slot, await booker(mesh), "spikevax")
    await confirm(mesh, reserved)

    case = await review_case_of(mesh, reserved)
    await mesh.eligibility.ApproveReviewCase(
        elig.ApproveReviewCaseRequest(name=case.name, request_id=new_id()),
        metadata=mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER),
    )

    kept = await get(mesh, reserved)
    assert kept.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert not kept.review_required
    assert (await availability(mesh, slot, "spikevax")).seats.committed == 1


async def review_case_of(mesh, appointment: appt.Appointment) -> elig.ReviewCase:
    reviewer = mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER)
    request = elig.ListReviewCasesRequest(state=elig.REVIEW_STATE_OPEN, page_size=500)
    while True:
        page = await mesh.eligibility.ListReviewCases(request, metadata=reviewer)
        for case in page.review_cases:
            if case.appointment == appointment.name:
                return case
        assert page.next_page_token, f"no review case for {appointment.name}"
        request.page_token = page.next_page_token


# Insurance down: the retry policy (nuvaxovid), with a short hold


HOLD_TTL_SECONDS = 5
# Waits of about 8, 16 and 32 s between four checks, far longer than the hold.
SLOW_RETRIES = RetrySchedule(
    max_attempts=4,
    initial_delay_seconds=8,
    max_delay_seconds=32,
    max_total_wait_seconds=200,
    jitter_ratio=0.25,
)


@pytest.fixture(scope="module")
async def short_hold_mesh(servers, settings, clock, insurance):
    # A database of its own: the main mesh's jobs, configured with the usual
    # hold, must not pick up these bookings.
    name = f"vaxbook_test_{RUN_ID}_short"
    database_url = create_database(servers.database_url, name)
    migrate(database_url)
    own = dataclasses.replace(
        settings,
        database_url=database_url,
        hold_ttl_seconds=HOLD_TTL_SECONDS,
        eligibility_max_wait_seconds=600,
        key_prefix=f"{settings.key_prefix}-short",
    )
    running = await start_mesh(
        own, clock, dataclasses.replace(insurance, retry=SLOW_RETRIES)
    )
    yield running
    await running.stop()
    drop_database(servers.database_url, name)


async def test_retry_policy_keeps_the_hold_while_it_waits_then_releases_it(
    short_hold_mesh, insurer_down
):
    mesh = short_hold_mesh
    clinic = await make_clinic(mesh, vaccines=("nuvaxovid",), doses=4)
    slot = await make_slot(mesh, clinic, capacity=2)

    reserved = await reserve(mesh, slot, await booker(mesh), "nuvaxovid")

    assert (reserved.state, reserved.eligibility) == (
        PENDING,
        appt.ELIGIBILITY_STATE_RETRYING,
    )
    first_expiry = reserved.create_time.ToDatetime(UTC) + timedelta(
        seconds=HOLD_TTL_SECONDS
    )
    assert reserved.hold_expire_time.ToDatetime(UTC) > first_expiry
    assert reserved.next_eligibility_check_time.ToDatetime(UTC) > first_expiry
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await confirm(mesh, reserved)
    assert read_error(raised.value).reason == "ELIGIBILITY_PENDING"

    # Past the hold's first expiry the seat is still held for this booking.
    mesh.clock.advance(HOLD_TTL_SECONDS + 1)
    assert (await availability(mesh, slot, "nuvaxovid")).seats.held == 1

    ended = await run_retries_until_done(mesh, reserved)

    assert ended.state == REJECTED
    assert [r.code for r in ended.reasons] == ["INSURANCE_UNAVAILABLE"]
    counts = await availability(mesh, slot, "nuvaxovid")
    assert (counts.seats.held, counts.seats.free) == (0, 2)
    assert (counts.doses.held, counts.doses.free) == (0, 4)


async def test_retry_policy_confirms_once_insurance_answers_again(
    short_hold_mesh, insurer
):
    mesh = short_hold_mesh
    clinic = await make_clinic(mesh, vaccines=("nuvaxovid",))
    slot = await make_slot(mesh, clinic)
    insured = await booker(mesh, citizen=new_id()[:-1] + "4")
    insurer.standin.change_faults({"outage": True})
    try:
        reserved = await reserve(mesh, slot, insured, "nuvaxovid")
    finally:
        insurer.standin.change_faults({"outage": False})
    assert reserved.eligibility == appt.ELIGIBILITY_STATE_RETRYING

    passed = await run_retries_until_done(mesh, reserved)

    assert (passed.state, passed.eligibility) == (
        PENDING,
        appt.ELIGIBILITY_STATE_PASSED,
    )
    assert (await confirm(mesh, passed)).state == appt.APPOINTMENT_STATE_CONFIRMED


async def run_retries_until_done(mesh, appointment) -> appt.Appointment:
    """Moves the clock to each queued check until eligibility stops retrying."""
    for _ in range(SLOW_RETRIES.max_attempts + 1):
        current = await get(mesh, appointment)
        if current.eligibility != appt.ELIGIBILITY_STATE_RETRYING:
            return current
        due = current.next_eligibility_check_time.ToDatetime(UTC)
        mesh.clock.advance(max(0.0, (due - mesh.clock.now()).total_seconds()))
        await eventually(functools.partial(updated_since, mesh, current))
    raise AssertionError("eligibility was still retrying after every attempt")


async def updated_since(mesh, seen: appt.Appointment) -> bool:
    """Whether eligibility has moved on since ``seen``: the checks are over,
    or another is queued, which extends the hold."""
    now = await get(mesh, seen)
    return (now.eligibility, now.hold_expire_time) != (
        seen.eligibility,
        seen.hold_expire_time,
    )
