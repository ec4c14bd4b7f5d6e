"""Clinic cancellations: a cancelled slot or day, and a dose shortfall, end the
appointments the clinic cannot keep as CLINIC_CANCELLED and offer each citizen
a seat held for them alone on the nearest suitable slot; an accepted offer
confirms, a declined or lapsed one returns the seat to the public."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.appointment.tables import outbox as appointment_outbox
from services.clinic.store import AdjustmentRow
from services.common.auth import Role
from services.common.errors import read_error
from services.inventory.tables import outbox as inventory_outbox
from tests.mesh import (
    availability,
    booker,
    events_of,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

NOTE = "the vaccinator is ill"


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_error(raised.value)


def staff_of(mesh, clinic: clin.Clinic):
    return mesh.token(f"staffAccounts/{new_id()}", Role.CLINIC_STAFF, [clinic.name])


def citizen_of(mesh, appointment: appt.Appointment):
    return mesh.token(appointment.citizen)


def region() -> str:
    """A region of the test's own, so offers land only on the test's slots."""
    return f"r{new_id()[:10]}"


async def confirmed(mesh, slot: clin.Slot) -> appt.Appointment:
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


async def offer_of(mesh, appointment: appt.Appointment) -> appt.RebookingOffer:
    return await mesh.appointments.GetRebookingOffer(
        appt.GetRebookingOfferRequest(name=f"{appointment.name}/rebookingOffer"),
        metadata=citizen_of(mesh, appointment),
    )


async def cancel_slot(mesh, clinic, slot, validate_only=False):
    return await mesh.clinics.CancelSlot(
        clin.CancelSlotRequest(
            name=slot.name,
            reason=NOTE,
            validate_only=validate_only,
            request_id=new_id(),
        ),
        metadata=staff_of(mesh, clinic),
    )


async def two_clinics(mesh, doses: int = 100):
    """Clinic ``a`` with a slot in two days; clinic ``b`` in the same region
    with slots in three and in six days."""
    where = region()
    a = await make_clinic(mesh, doses=doses, region=where)
    b = await make_clinic(mesh, doses=100, region=where)
    slot = await make_slot(mesh, a, capacity=5, days_ahead=2)
    near = await make_slot(mesh, b, capacity=5, days_ahead=3)
    far = await make_slot(mesh, b, capacity=5, days_ahead=6)
    return a, slot, near, far


async def test_counting_before_cancelling_changes_nothing(mesh):
    a, slot, _, _ = await two_clinics(mesh)
    first, second = await confirmed(mesh, slot), await confirmed(mesh, slot)

    counted = await cancel_slot(mesh, a, slot, validate_only=True)

    assert counted.affected_appointments == 2
    assert counted.slots[0].state == clin.SLOT_STATE_OPEN
    for appointment in (first, second):
        still = await current(mesh, appointment)
        assert still.state == appt.APPOINTMENT_STATE_CONFIRMED


async def test_a_cancelled_slot_ends_its_appointments_with_offers_on_the_nearest_slot(
    mesh,
):
    a, slot, near, _ = await two_clinics(mesh)
    first, second = await confirmed(mesh, slot), await confirmed(mesh, slot)

    answer = await cancel_slot(mesh, a, slot)

    assert (answer.affected_appointments, answer.rebooking_offers) == (2, 2)
    assert answer.slots[0].state == clin.SLOT_STATE_CANCELLED
    assert answer.slots[0].cancel_reason == NOTE
    for appointment in (first, second):
        ended = await current(mesh, appointment)
        assert ended.state == appt.APPOINTMENT_STATE_CLINIC_CANCELLED
        assert ended.end_reason == "SLOT_CANCELLED"
        assert ended.reasons[-1].code == "SLOT_CANCELLED"
        assert NOTE in ended.reasons[-1].message
        assert ended.rebooking_offer == f"{appointment.name}/rebookingOffer"
        offer = await offer_of(mesh, appointment)
        assert offer.state == appt.REBOOKING_OFFER_STATE_OPEN
        assert offer.slot == near.name
        assert (offer.vaccine, offer.dose_number) == ("comirnaty", 1)
    # The old seats are free, the offered ones held for the two citizens.
    old = await availability(mesh, slot)
    assert (old.seats.committed, old.seats.held) == (0, 0)
    offered = await availability(mesh, near)
    assert (offered.seats.held, offered.seats.committed) == (2, 0)


async def test_a_cancelled_slot_takes_no_new_booking_and_leaves_the_listing(mesh):
    a, slot, _, _ = await two_clinics(mesh)
    await cancel_slot(mesh, a, slot)

    error = await refused(
        mesh.appointments.ReserveAppointment(reserve_request(slot, await booker(mesh)))
    )
    assert error.reason == "SLOT_CLOSED"
    listed = await mesh.clinics.ListSlots(
        clin.ListSlotsRequest(parent=a.name, page_size=100)
    )
    assert slot.name not in [s.name for s in listed.slots]
    with_cancelled = await mesh.clinics.ListSlots(
        clin.ListSlotsRequest(parent=a.name, page_size=100, show_cancelled=True)
    )
    assert slot.name in [s.name for s in with_cancelled.slots]


async def test_inventory_refuses_a_hold_on_a_closed_slot_even_past_a_stale_cache(
    mesh,
):
    a, slot, _, _ = await two_clinics(mesh)
    citizen = await booker(mesh)
    # The appointment service has the open slot cached before it closes.
    await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)

    error = await refused(
        mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))
    )

    assert error.reason == "SLOT_CLOSED"
    assert (await availability(mesh, slot)).seats.held == 0


async def test_cancelling_again_cancels_nothing_more(mesh):
    a, slot, _, _ = await two_clinics(mesh)
    await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)

    again = await cancel_slot(mesh, a, slot)

    assert (again.affected_appointments, again.rebooking_offers) == (0, 0)


async def test_staff_of_another_clinic_may_not_cancel_the_slot(mesh):
    _, slot, _, _ = await two_clinics(mesh)
    other = await make_clinic(mesh)

    error = await refused(
        mesh.clinics.CancelSlot(
            clin.CancelSlotRequest(name=slot.name, reason=NOTE, request_id=new_id()),
            metadata=staff_of(mesh, other),
        )
    )

    assert error.code is grpc.StatusCode.PERMISSION_DENIED


async def test_a_cancellation_needs_a_reason(mesh):
    a, slot, _, _ = await two_clinics(mesh)

    error = await refused(
        mesh.clinics.CancelSlot(
            clin.CancelSlotRequest(name=slot.name, reason="  ", request_id=new_id()),
            metadata=staff_of(mesh, a),
        )
    )

    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert list(error.field_violations) == ["reason"]


async def test_an_accepted_offer_confirms_a_new_appointment_on_the_offered_slot(mesh):
    a, slot, near, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)
    request = appt.AcceptRebookingOfferRequest(
        name=f"{appointment.name}/rebookingOffer", request_id=new_id()
    )

    accepted = await mesh.appointments.AcceptRebookingOffer(
        request, metadata=citizen_of(mesh, appointment)
    )
    again = await mesh.appointments.AcceptRebookingOffer(
        request, metadata=citizen_of(mesh, appointment)
    )

    assert accepted.state == appt.REBOOKING_OFFER_STATE_ACCEPTED
    assert again.new_appointment == accepted.new_appointment
    new = await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=accepted.new_appointment)
    )
    assert new.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert (new.slot, new.citizen) == (near.name, appointment.citizen)
    seats = (await availability(mesh, near)).seats
    assert (seats.held, seats.committed) == (0, 1)


async def test_a_declined_offer_returns_the_seat_to_the_public_at_once(mesh):
    a, slot, near, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)
    name = f"{appointment.name}/rebookingOffer"

    declined = await mesh.appointments.DeclineRebookingOffer(
        appt.DeclineRebookingOfferRequest(name=name, request_id=new_id()),
        metadata=citizen_of(mesh, appointment),
    )

    assert declined.state == appt.REBOOKING_OFFER_STATE_DECLINED
    assert (await availability(mesh, near)).seats.held == 0
    error = await refused(
        mesh.appointments.AcceptRebookingOffer(
            appt.AcceptRebookingOfferRequest(name=name, request_id=new_id()),
            metadata=citizen_of(mesh, appointment),
        )
    )
    assert error.reason == "OFFER_CLOSED"


async def test_an_ignored_offer_lapses_and_its_seat_returns(mesh):
    a, slot, near, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)
    offer = await offer_of(mesh, appointment)
    rebooking = mesh.servicers["appointment"].rebooking

    mesh.clock.advance(
        (
            offer.expire_time.ToDatetime() - offer.create_time.ToDatetime()
        ).total_seconds()
        + 1
    )
    await rebooking.lapse_due()

    lapsed = await offer_of(mesh, appointment)
    assert lapsed.state == appt.REBOOKING_OFFER_STATE_LAPSED
    assert (await availability(mesh, near)).seats.held == 0


async def test_nobody_but_the_citizen_answers_their_offer(mesh):
    a, slot, _, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)

    error = await refused(
        mesh.appointments.AcceptRebookingOffer(
            appt.AcceptRebookingOfferRequest(
                name=f"{appointment.name}/rebookingOffer", request_id=new_id()
            ),
            metadata=mesh.token(f"citizens/{new_id()}"),
        )
    )

    assert error.code is grpc.StatusCode.PERMISSION_DENIED


async def test_the_earliest_booked_get_the_nearest_seats_when_they_are_few(mesh):
    where = region()
    a = await make_clinic(mesh, region=where)
    b = await make_clinic(mesh, region=where)
    slot = await make_slot(mesh, a, capacity=5, days_ahead=2)
    near = await make_slot(mesh, b, capacity=1, days_ahead=3)
    far = await make_slot(mesh, b, capacity=5, days_ahead=6)
    earlier = await confirmed(mesh, slot)
    mesh.clock.advance(1)
    later = await confirmed(mesh, slot)

    await cancel_slot(mesh, a, slot)

    assert (await offer_of(mesh, earlier)).slot == near.name
    assert (await offer_of(mesh, later)).slot == far.name


async def test_no_offer_is_made_when_no_slot_is_free_within_the_window(mesh):
    a = await make_clinic(mesh, region=region())
    slot = await make_slot(mesh, a, capacity=5, days_ahead=2)
    appointment = await confirmed(mesh, slot)

    answer = await cancel_slot(mesh, a, slot)

    assert (answer.affected_appointments, answer.rebooking_offers) == (1, 0)
    ended = await current(mesh, appointment)
    assert ended.state == appt.APPOINTMENT_STATE_CLINIC_CANCELLED
    assert ended.rebooking_offer == ""


async def slot_at(mesh, clinic, start, capacity: int = 3) -> clin.Slot:
    return await make_slot(mesh, clinic, capacity, start=start)


async def test_a_whole_day_is_cancelled_slot_by_slot(mesh):
    a = await make_clinic(mesh, region=region())
    day = (mesh.clock.now() + timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    morning = await slot_at(mesh, a, day)
    afternoon = await slot_at(mesh, a, day + timedelta(hours=5))
    next_day = await slot_at(mesh, a, day + timedelta(days=1))
    first, second = await confirmed(mesh, morning), await confirmed(mesh, afternoon)

    answer = await mesh.clinics.BatchCancelSlots(
        clin.BatchCancelSlotsRequest(
            parent=a.name,
            date=day.strftime("%Y-%m-%d"),
            reason=NOTE,
            request_id=new_id(),
        ),
        metadata=staff_of(mesh, a),
    )

    assert {s.name for s in answer.slots} == {morning.name, afternoon.name}
    assert (answer.affected_appointments, answer.rebooking_offers) == (2, 2)
    for appointment in (first, second):
        ended = await current(mesh, appointment)
        assert ended.state == appt.APPOINTMENT_STATE_CLINIC_CANCELLED
        # The next day's slot at the same clinic is the nearest left.
        assert (await offer_of(mesh, appointment)).slot == next_day.name


async def test_the_job_finishes_a_cancellation_whose_call_did_not_reach_appointments(
    mesh,
):
    _, slot, near, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    clinic = mesh.servicers["clinic"]
    ids = slot.name.split("/")
    # The slot is marked cancelled, as if the service stopped right after.
    await clinic.store.cancel_slots(
        ids[1], [ids[3]], NOTE, "staffAccounts/x", mesh.clock.now(), new_id()
    )

    await clinic.cancellations.settle_owed()

    ended = await current(mesh, appointment)
    assert ended.state == appt.APPOINTMENT_STATE_CLINIC_CANCELLED
    assert (await offer_of(mesh, appointment)).slot == near.name
    assert await clinic.store.owing_cancellations(100) == []


async def test_cancellation_and_offer_events_are_written_with_the_changes(
    mesh, database_url
):
    a, slot, near, _ = await two_clinics(mesh)
    appointment = await confirmed(mesh, slot)
    await cancel_slot(mesh, a, slot)

    cancelled = await events_of(
        database_url, appointment_outbox, "appointment_clinic_cancelled"
    )
    offered = await events_of(database_url, appointment_outbox, "rebooking_offered")

    mine = [e for e in cancelled if e.appointment.appointment == appointment.name]
    assert len(mine) == 1
    assert (mine[0].reason, mine[0].was_confirmed) == ("SLOT_CANCELLED", True)
    assert mine[0].note == NOTE
    offers = [e for e in offered if e.appointment.appointment == appointment.name]
    assert [o.slot for o in offers] == [near.name]


# Dose shortfall


async def adjust(mesh, clinic, delta: int, request_id: str | None = None):
    return await mesh.clinics.AdjustDoseStock(
        clin.AdjustDoseStockRequest(
            clinic=clinic.name,
            vaccine="comirnaty",
            delta=delta,
            reason="spoilage: fridge failure",
            request_id=request_id or new_id(),
        ),
        metadata=staff_of(mesh, clinic),
    )


async def test_a_shortfall_cancels_the_latest_booked_and_offers_them_seats(
    mesh, database_url
):
    a, slot, near, _ = await two_clinics(mesh, doses=3)
    booked = []
    for _ in range(3):
        booked.append(await confirmed(mesh, slot))
        mesh.clock.advance(1)
    request_id = new_id()

    answer = await adjust(mesh, a, -2, request_id)

    assert (answer.old_doses, answer.new_doses, answer.shortfall) == (3, 1, 2)
    assert sorted(answer.cancelled_appointments) == sorted(
        [booked[1].name, booked[2].name]
    )
    assert answer.rebooking_offers == 2
    assert (await current(mesh, booked[0])).state == (appt.APPOINTMENT_STATE_CONFIRMED)
    for appointment in booked[1:]:
        ended = await current(mesh, appointment)
        assert ended.end_reason == "DOSE_SHORTFALL"
        assert (await offer_of(mesh, appointment)).slot == near.name
    # The released doses left the stock: one dose, the one still committed.
    doses = (await availability(mesh, slot)).doses
    assert (doses.total, doses.committed, doses.free) == (1, 1, 0)
    adjusted = await events_of(database_url, inventory_outbox, "dose_stock_adjusted")
    mine = [e for e in adjusted if e.clinic == a.name]
    assert [(e.delta, e.reason, e.shortfall) for e in mine] == [
        (-2, "spoilage: fridge failure", 2)
    ]
    assert mine[0].actor.startswith("staffAccounts/")

    retried = await adjust(mesh, a, -2, request_id)

    assert (retried.new_doses, retried.shortfall) == (1, 2)
    assert list(retried.cancelled_appointments) == []
    assert (await current(mesh, booked[0])).state == (appt.APPOINTMENT_STATE_CONFIRMED)


def owed_cut(clinic: clin.Clinic, delta: int) -> AdjustmentRow:
    return AdjustmentRow(
        request_id=new_id(),
        clinic_id=clinic.name.split("/")[1],
        vaccine="comirnaty",
        delta=delta,
        reason="spoilage: fridge failure",
        actor="staffAccounts/x",
    )


async def owing(mesh, row: AdjustmentRow) -> bool:
    store = mesh.servicers["clinic"].store
    return row.request_id in {r.request_id for r in await store.owing_adjustments(1000)}


async def test_the_job_finishes_a_shortfall_left_owing(mesh):
    a, slot, near, _ = await two_clinics(mesh, doses=2)
    kept = await confirmed(mesh, slot)
    mesh.clock.advance(1)
    cut = await confirmed(mesh, slot)
    clinic = mesh.servicers["clinic"]
    # Recorded as owed, as if the service stopped before calling inventory.
    row = owed_cut(a, -1)
    await clinic.store.owe_adjustment(row, mesh.clock.now())

    await clinic.cancellations.settle_owed_adjustments()

    assert (await current(mesh, kept)).state == appt.APPOINTMENT_STATE_CONFIRMED
    ended = await current(mesh, cut)
    assert ended.end_reason == "DOSE_SHORTFALL"
    assert (await offer_of(mesh, cut)).slot == near.name
    assert (await availability(mesh, slot)).doses.total == 1
    assert not await owing(mesh, row)


async def test_an_owed_cut_a_later_delivery_made_good_cancels_nothing(mesh):
    a, slot, _, _ = await two_clinics(mesh, doses=2)
    booked = [await confirmed(mesh, slot), await confirmed(mesh, slot)]
    clinic = mesh.servicers["clinic"]
    # The cut reached inventory, then its call to appointments failed.
    row = owed_cut(a, -1)
    await clinic.store.owe_adjustment(row, mesh.clock.now())
    await mesh.inventory.AdjustDoseStock(
        inv.AdjustDoseStockRequest(
            clinic=a.name,
            vaccine=row.vaccine,
            delta=row.delta,
            reason=row.reason,
            request_id=row.request_id,
            actor=row.actor,
        )
    )
    # Then a delivery: the stock covers both appointments again.
    delivered = await adjust(mesh, a, 5)
    assert (delivered.new_doses, delivered.shortfall) == (6, 0)

    await clinic.cancellations.settle_owed_adjustments()

    for appointment in booked:
        assert (await current(mesh, appointment)).state == (
            appt.APPOINTMENT_STATE_CONFIRMED
        )
    assert not await owing(mesh, row)


async def test_a_refused_adjustment_is_not_left_owing(mesh):
    a, _, _, _ = await two_clinics(mesh, doses=3)
    request_id = new_id()

    await refused(adjust(mesh, a, -4, request_id))

    owed = await mesh.servicers["clinic"].store.owing_adjustments(1000)
    assert request_id not in {r.request_id for r in owed}


async def test_a_cut_the_free_stock_covers_cancels_nothing(mesh):
    a, slot, _, _ = await two_clinics(mesh, doses=5)
    appointment = await confirmed(mesh, slot)

    answer = await adjust(mesh, a, -4)

    assert (answer.new_doses, answer.shortfall) == (1, 0)
    assert (await current(mesh, appointment)).state == (
        appt.APPOINTMENT_STATE_CONFIRMED
    )
    assert (await availability(mesh, slot)).doses.free == 0


async def test_a_delivery_adds_doses(mesh):
    a, slot, _, _ = await two_clinics(mesh, doses=5)

    answer = await adjust(mesh, a, 20)

    assert (answer.old_doses, answer.new_doses, answer.shortfall) == (5, 25, 0)
    assert (await availability(mesh, slot)).doses.total == 25


async def test_an_adjustment_below_zero_is_refused_and_changes_nothing(mesh):
    a, slot, _, _ = await two_clinics(mesh, doses=3)

    error = await refused(adjust(mesh, a, -4))

    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "STOCK_NEGATIVE"
    assert (await availability(mesh, slot)).doses.total == 3


async def test_an_adjustment_of_zero_or_without_a_reason_is_refused(mesh):
    a, _, _, _ = await two_clinics(mesh)

    error = await refused(
        mesh.clinics.AdjustDoseStock(
            clin.AdjustDoseStockRequest(
                clinic=a.name, vaccine="comirnaty", delta=0, request_id=new_id()
            ),
            metadata=staff_of(mesh, a),
        )
    )

    assert set(error.field_violations) == {"delta", "reason"}
