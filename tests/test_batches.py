"""Vaccine batches: a received batch adds its doses to the stock, an expired
one takes what it had left away (and the clinic cancels the confirmed
appointments the stock no longer covers), and a dose given from a batch
fulfils the appointment's committed hold, once per appointment, with Redis and
PostgreSQL in step throughout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import grpc
import pytest
from sqlalchemy import select
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.events.v1 import events_pb2
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.auth import Role
from services.common.clock import to_timestamp
from services.common.db import create_engine
from services.common.errors import read_error
from services.inventory.tables import outbox as inventory_outbox
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

VACCINE = "comirnaty"
OTHER_VACCINE = "spikevax"


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_error(raised.value)


def staff_of(mesh, clinic: clin.Clinic):
    return mesh.token(f"staffAccounts/{new_id()}", Role.CLINIC_STAFF, [clinic.name])


def clinic_id(clinic: clin.Clinic) -> str:
    return clinic.name.split("/")[1]


def region() -> str:
    """A region of the test's own, so no rebooking offer lands elsewhere."""
    return f"r{new_id()[:10]}"


def day(mesh, days_ahead: int = 0) -> str:
    return (mesh.clock.now().date() + timedelta(days=days_ahead)).isoformat()


def to_next_day(mesh) -> None:
    """Moves the shared clock just past the next midnight, UTC."""
    now = mesh.clock.now()
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0, 30), UTC)
    mesh.clock.advance((midnight - now).total_seconds())


async def receive(
    mesh,
    clinic: clin.Clinic,
    doses: int = 10,
    expires_in_days: int = 30,
    vaccine: str = VACCINE,
    batch_id: str | None = None,
    request_id: str | None = None,
    metadata=None,
) -> inv.Batch:
    return await mesh.inventory.ReceiveBatch(
        inv.ReceiveBatchRequest(
            parent=clinic.name,
            batch_id=batch_id or f"EW{new_id()[:6].upper()}.1",
            batch=inv.Batch(
                vaccine=vaccine,
                expire_date=day(mesh, expires_in_days),
                doses_received=doses,
            ),
            request_id=request_id or new_id(),
        ),
        metadata=metadata or staff_of(mesh, clinic),
    )


async def batch_now(mesh, batch: inv.Batch) -> inv.Batch:
    return await mesh.inventory.GetBatch(inv.GetBatchRequest(name=batch.name))


async def reserved(mesh, slot: clin.Slot, vaccine: str = VACCINE) -> appt.Appointment:
    return await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh), vaccine=vaccine)
    )


async def confirmed(mesh, slot: clin.Slot) -> appt.Appointment:
    appointment = await reserved(mesh, slot)
    return await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=appointment.name, request_id=new_id())
    )


async def current(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=appointment.name)
    )


def hold_of(clinic: clin.Clinic, appointment: appt.Appointment) -> str:
    return f"{clinic.name}/holds/{appointment.name.split('/')[1]}"


def consume_request(
    clinic: clin.Clinic,
    appointment: appt.Appointment,
    batch: inv.Batch | str,
    administer_time: datetime,
) -> inv.ConsumeDoseRequest:
    return inv.ConsumeDoseRequest(
        hold=hold_of(clinic, appointment),
        batch=batch if isinstance(batch, str) else batch.name,
        appointment=appointment.name,
        administer_time=to_timestamp(administer_time),
        request_id=new_id(),
    )


async def consume(mesh, clinic, appointment, batch, administer_time=None):
    return await mesh.inventory.ConsumeDose(
        consume_request(clinic, appointment, batch, administer_time or mesh.clock.now())
    )


def inventory_of(mesh):
    return mesh.servicers["inventory"].inventory


async def drift_of(mesh, clinic: clin.Clinic) -> frozenset[str]:
    """What the hold reconciler would find between Redis and PostgreSQL."""
    return await inventory_of(mesh).drift_of(clinic_id(clinic))


async def in_postgres(mesh, clinic: clin.Clinic, slot: clin.Slot):
    return await inventory_of(mesh).store.counters(
        clinic_id(clinic), slot.name.split("/")[3], VACCINE, mesh.clock.now()
    )


async def events_of(database_url, field: str) -> list:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            payloads = (
                await conn.execute(
                    select(inventory_outbox.c.payload).order_by(inventory_outbox.c.id)
                )
            ).scalars()
            events = [events_pb2.Event.FromString(p) for p in payloads]
    finally:
        await engine.dispose()
    return [getattr(e, field) for e in events if e.WhichOneof("payload") == field]


async def clinic_with_slot(mesh, vaccines=(VACCINE,), capacity: int = 5):
    """A clinic with no doses but what its batches bring, and a slot."""
    clinic = await make_clinic(mesh, vaccines=vaccines, doses=0, region=region())
    return clinic, await make_slot(mesh, clinic, capacity=capacity)


# Receipt


async def test_a_received_batch_adds_its_doses_to_the_stock(mesh, database_url):
    clinic, slot = await clinic_with_slot(mesh)

    batch = await receive(mesh, clinic, doses=20, batch_id="EW0419")

    assert batch.name == f"{clinic.name}/batches/EW0419"
    assert (batch.vaccine, batch.expire_date) == (VACCINE, day(mesh, 30))
    assert (batch.doses_received, batch.doses_used, batch.doses_left) == (20, 0, 20)
    assert batch.state == inv.BATCH_STATE_ACTIVE
    doses = (await availability(mesh, slot)).doses
    assert (doses.total, doses.free) == (20, 20)
    adjusted = await events_of(database_url, "dose_stock_adjusted")
    assert [(e.delta, e.reason) for e in adjusted if e.clinic == clinic.name] == [
        (20, "batch EW0419 received")
    ]
    received = await events_of(database_url, "batch_received")
    [event] = [e for e in received if e.batch == batch.name]
    assert (event.doses, event.expire_date, event.clinic) == (
        20,
        batch.expire_date,
        clinic.name,
    )
    assert event.actor.startswith("staffAccounts/")
    assert await drift_of(mesh, clinic) == frozenset()


async def test_receiving_a_batch_again_with_its_request_id_adds_nothing(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    request_id = new_id()
    first = await receive(mesh, clinic, doses=8, request_id=request_id)

    again = await receive(
        mesh, clinic, doses=8, batch_id=first.name.split("/")[-1], request_id=request_id
    )

    assert again == first
    assert (await availability(mesh, slot)).doses.total == 8


async def test_another_request_for_a_received_batch_number_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    first = await receive(mesh, clinic, doses=8)

    error = await refused(
        receive(mesh, clinic, doses=8, batch_id=first.name.split("/")[-1])
    )

    assert error.code is grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "BATCH_EXISTS"
    assert first.name in error.message
    assert (await availability(mesh, slot)).doses.total == 8


async def test_the_same_number_may_be_received_by_another_clinic(mesh):
    clinic, _ = await clinic_with_slot(mesh)
    other, _ = await clinic_with_slot(mesh)
    first = await receive(mesh, clinic, batch_id="SHARED-1")

    second = await receive(mesh, other, batch_id="SHARED-1")

    assert first.name != second.name


async def test_a_batch_past_its_last_day_is_refused_on_receipt(mesh):
    clinic, slot = await clinic_with_slot(mesh)

    error = await refused(receive(mesh, clinic, expires_in_days=-1))

    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "BATCH_EXPIRED"
    assert day(mesh, -1) in error.message
    assert day(mesh) in error.message
    assert (await availability(mesh, slot)).doses.total == 0
    last_day = await receive(mesh, clinic, expires_in_days=0)
    assert last_day.state == inv.BATCH_STATE_ACTIVE


async def test_bad_batch_fields_are_reported_together(mesh):
    clinic, _ = await clinic_with_slot(mesh)

    error = await refused(
        mesh.inventory.ReceiveBatch(
            inv.ReceiveBatchRequest(
                parent=clinic.name,
                batch_id="EW/0419 !",
                batch=inv.Batch(vaccine="", expire_date="2027-02-30"),
            ),
            metadata=staff_of(mesh, clinic),
        )
    )

    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.field_violations) == {
        "batch_id",
        "batch.vaccine",
        "batch.expire_date",
        "batch.doses_received",
        "request_id",
    }
    assert "'EW/0419 !'" in error.field_violations["batch_id"]
    assert "'2027-02-30'" in error.field_violations["batch.expire_date"]


async def test_a_batch_number_longer_than_64_chars_is_refused(mesh):
    clinic, _ = await clinic_with_slot(mesh)

    error = await refused(receive(mesh, clinic, batch_id="E" * 65))

    assert list(error.field_violations) == ["batch_id"]


async def test_staff_of_another_clinic_may_not_receive_or_read_its_batches(mesh):
    clinic, _ = await clinic_with_slot(mesh)
    other, _ = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic)
    outsider = staff_of(mesh, other)

    refusals = [
        await refused(receive(mesh, clinic, metadata=outsider)),
        await refused(
            mesh.inventory.GetBatch(
                inv.GetBatchRequest(name=batch.name), metadata=outsider
            )
        ),
        await refused(
            mesh.inventory.ListBatches(
                inv.ListBatchesRequest(parent=clinic.name), metadata=outsider
            )
        ),
        await refused(
            mesh.inventory.GetBatch(
                inv.GetBatchRequest(name=batch.name),
                metadata=mesh.token(f"citizens/{new_id()}"),
            )
        ),
    ]

    assert {error.code for error in refusals} == {grpc.StatusCode.PERMISSION_DENIED}
    mine = await mesh.inventory.GetBatch(
        inv.GetBatchRequest(name=batch.name), metadata=staff_of(mesh, clinic)
    )
    assert mine == batch


async def test_only_services_expire_batches_or_record_doses(mesh):
    clinic, _ = await clinic_with_slot(mesh)
    staff = staff_of(mesh, clinic)

    refusals = [
        await refused(
            mesh.inventory.ExpireBatches(
                inv.ExpireBatchesRequest(today=day(mesh), request_id=new_id()),
                metadata=staff,
            )
        ),
        await refused(
            mesh.inventory.ConsumeDose(inv.ConsumeDoseRequest(), metadata=staff)
        ),
    ]

    assert {error.code for error in refusals} == {grpc.StatusCode.PERMISSION_DENIED}


async def test_an_unknown_batch_is_not_found(mesh):
    clinic, _ = await clinic_with_slot(mesh)

    error = await refused(
        mesh.inventory.GetBatch(inv.GetBatchRequest(name=f"{clinic.name}/batches/X1"))
    )

    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "BATCH_NOT_FOUND")


async def test_batches_are_listed_soonest_expiry_first(mesh):
    clinic, _ = await clinic_with_slot(mesh)
    late = await receive(mesh, clinic, expires_in_days=90)
    soon = await receive(mesh, clinic, expires_in_days=10)
    middle = await receive(mesh, clinic, expires_in_days=40)
    staff = staff_of(mesh, clinic)

    first = await mesh.inventory.ListBatches(
        inv.ListBatchesRequest(parent=clinic.name, page_size=2), metadata=staff
    )
    rest = await mesh.inventory.ListBatches(
        inv.ListBatchesRequest(
            parent=clinic.name, page_size=2, page_token=first.next_page_token
        ),
        metadata=staff,
    )

    assert [b.name for b in first.batches] == [soon.name, middle.name]
    assert [b.name for b in rest.batches] == [late.name]
    assert rest.next_page_token == ""


# Expiry


def batch_expirer(mesh):
    """The clinic service's ``batch-expirer`` job, run once."""
    return mesh.servicers["clinic"].cancellations.expire_batches()


async def test_an_expired_batch_leaves_the_stock_and_the_latest_booked_lose_out(
    mesh, database_url
):
    clinic, slot = await clinic_with_slot(mesh)
    expiring = await receive(mesh, clinic, doses=3, expires_in_days=0)
    await receive(mesh, clinic, doses=1, expires_in_days=30)
    booked = []
    for _ in range(3):
        booked.append(await confirmed(mesh, slot))
        mesh.clock.advance(1)
    to_next_day(mesh)

    assert await batch_expirer(mesh) >= 1

    expired = await batch_now(mesh, expiring)
    assert expired.state == inv.BATCH_STATE_EXPIRED
    assert (await current(mesh, booked[0])).state == appt.APPOINTMENT_STATE_CONFIRMED
    for appointment in booked[1:]:
        ended = await current(mesh, appointment)
        assert ended.state == appt.APPOINTMENT_STATE_CLINIC_CANCELLED
        assert ended.end_reason == "DOSE_SHORTFALL"
    doses = (await availability(mesh, slot)).doses
    assert (doses.total, doses.committed, doses.free) == (1, 1, 0)
    adjusted = await events_of(database_url, "dose_stock_adjusted")
    assert [
        (e.delta, e.reason, e.shortfall) for e in adjusted if e.clinic == clinic.name
    ][-1] == (-3, f"batch {expiring.name.split('/')[-1]} expired", 2)
    [event] = [
        e
        for e in await events_of(database_url, "batch_expired")
        if e.batch == expiring.name
    ]
    assert (event.doses_left, event.doses_removed) == (3, 3)
    assert await drift_of(mesh, clinic) == frozenset()


async def test_a_repeated_expiry_pass_expires_and_cancels_nothing_more(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    expiring = await receive(mesh, clinic, doses=2, expires_in_days=0)
    await receive(mesh, clinic, doses=1, expires_in_days=30)
    kept = await confirmed(mesh, slot)
    mesh.clock.advance(1)
    cut = await confirmed(mesh, slot)
    to_next_day(mesh)
    await batch_expirer(mesh)

    await batch_expirer(mesh)
    today = day(mesh)
    replayed = await mesh.inventory.ExpireBatches(
        inv.ExpireBatchesRequest(today=today, request_id=f"expire-batches-{today}")
    )

    assert (await current(mesh, kept)).state == appt.APPOINTMENT_STATE_CONFIRMED
    assert (await current(mesh, cut)).end_reason == "DOSE_SHORTFALL"
    assert expiring.name in [b.name for b in replayed.expired]
    [adjustment] = [a for a in replayed.adjustments if a.clinic == clinic.name]
    assert (adjustment.delta, adjustment.new_doses, adjustment.shortfall) == (
        -2,
        1,
        1,
    )
    doses = (await availability(mesh, slot)).doses
    assert (doses.total, doses.committed) == (1, 1)
    owed = await mesh.servicers["clinic"].store.owing_adjustments(1000)
    assert adjustment.request_id not in {row.request_id for row in owed}


async def test_an_expiry_pass_dated_ahead_of_the_inventory_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, doses=2, expires_in_days=0)

    error = await refused(
        mesh.inventory.ExpireBatches(
            inv.ExpireBatchesRequest(today=day(mesh, 2), request_id=new_id())
        )
    )

    assert list(error.field_violations) == ["today"]
    assert (await batch_now(mesh, batch)).state == inv.BATCH_STATE_ACTIVE
    assert (await availability(mesh, slot)).doses.total == 2


async def test_an_expired_batch_takes_no_more_than_the_stock_has(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    expiring = await receive(mesh, clinic, doses=5, expires_in_days=0)
    # Spoilage recorded without naming the batch took three of its doses.
    await mesh.inventory.AdjustDoseStock(
        inv.AdjustDoseStockRequest(
            clinic=clinic.name,
            vaccine=VACCINE,
            delta=-3,
            reason="spoilage",
            request_id=new_id(),
        )
    )
    to_next_day(mesh)
    request_id = new_id()

    answer = await mesh.inventory.ExpireBatches(
        inv.ExpireBatchesRequest(today=day(mesh), request_id=request_id)
    )

    assert expiring.name in [b.name for b in answer.expired]
    [adjustment] = [a for a in answer.adjustments if a.clinic == clinic.name]
    assert (adjustment.delta, adjustment.new_doses) == (-2, 0)
    assert (await availability(mesh, slot)).doses.total == 0


# Doses given


async def test_a_dose_given_leaves_the_batch_and_the_stock_with_its_claim(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, doses=5)
    appointment = await confirmed(mesh, slot)
    request = consume_request(clinic, appointment, batch, mesh.clock.now())

    use = await mesh.inventory.ConsumeDose(request)

    assert (use.appointment, use.batch, use.vaccine) == (
        appointment.name,
        batch.name,
        VACCINE,
    )
    assert use.request_id == request.request_id
    assert use.hold == hold_of(clinic, appointment)
    assert use.administer_time == request.administer_time
    given = await batch_now(mesh, batch)
    assert (given.doses_used, given.doses_left) == (1, 4)
    counters = await availability(mesh, slot)
    assert (counters.doses.total, counters.doses.committed, counters.doses.free) == (
        4,
        0,
        4,
    )
    assert (counters.seats.committed, counters.seats.held) == (1, 0)
    database = await in_postgres(mesh, clinic, slot)
    assert (database.doses, database.doses_committed) == (4, 0)
    assert database.seats_committed == 1
    assert await drift_of(mesh, clinic) == frozenset()


async def test_releasing_a_used_hold_gives_nothing_back(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, doses=5)
    appointment = await confirmed(mesh, slot)
    await consume(mesh, clinic, appointment, batch)
    before = await availability(mesh, slot)

    released = await mesh.inventory.ReleaseHold(
        inv.ReleaseHoldRequest(name=hold_of(clinic, appointment), request_id=new_id())
    )

    assert released.state == inv.HOLD_STATE_USED
    assert await availability(mesh, slot) == before
    assert await drift_of(mesh, clinic) == frozenset()


async def test_a_rebuild_of_redis_after_a_dose_is_given_changes_no_counter(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, doses=5)
    appointment = await confirmed(mesh, slot)
    await consume(mesh, clinic, appointment, batch)
    before = await availability(mesh, slot)
    inventory = inventory_of(mesh)
    now = mesh.clock.now()
    redis_ids = await inventory.gate.hold_ids(clinic_id(clinic))
    snapshot = await inventory.store.snapshot(clinic_id(clinic), redis_ids, now)

    await inventory.gate.rebuild(clinic_id(clinic), snapshot, now)

    assert await availability(mesh, slot) == before
    assert await drift_of(mesh, clinic) == frozenset()


async def test_the_last_dose_of_a_batch_uses_it_up(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, doses=1)
    await receive(mesh, clinic, doses=5)
    first, second = await confirmed(mesh, slot), await confirmed(mesh, slot)
    await consume(mesh, clinic, first, batch)

    error = await refused(consume(mesh, clinic, second, batch))

    assert (await batch_now(mesh, batch)).state == inv.BATCH_STATE_USED_UP
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BATCH_USED_UP",
    )
    assert batch.name in error.message


async def refusal_of(mesh, clinic, appointment, batch, administer_time=None):
    return await refused(consume(mesh, clinic, appointment, batch, administer_time))


async def test_a_dose_from_an_unknown_batch_is_not_found(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    await receive(mesh, clinic)
    appointment = await confirmed(mesh, slot)

    error = await refusal_of(mesh, clinic, appointment, f"{clinic.name}/batches/X9")

    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "BATCH_NOT_FOUND")


async def test_a_dose_from_another_clinics_batch_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    other, _ = await clinic_with_slot(mesh)
    await receive(mesh, clinic)
    elsewhere = await receive(mesh, other)
    appointment = await confirmed(mesh, slot)

    error = await refusal_of(mesh, clinic, appointment, elsewhere)

    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BATCH_OTHER_CLINIC",
    )
    assert elsewhere.name in error.message
    assert hold_of(clinic, appointment) in error.message


async def test_a_dose_of_another_vaccine_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh, vaccines=(VACCINE, OTHER_VACCINE))
    await receive(mesh, clinic)
    wrong = await receive(mesh, clinic, vaccine=OTHER_VACCINE)
    appointment = await confirmed(mesh, slot)

    error = await refusal_of(mesh, clinic, appointment, wrong)

    assert error.reason == "BATCH_WRONG_VACCINE"
    assert OTHER_VACCINE in error.message and VACCINE in error.message


async def test_a_dose_given_after_the_batchs_last_day_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic, expires_in_days=0)
    appointment = await confirmed(mesh, slot)
    tomorrow = mesh.clock.now() + timedelta(days=1)

    error = await refusal_of(mesh, clinic, appointment, batch, tomorrow)

    assert error.reason == "BATCH_EXPIRED"
    assert batch.expire_date in error.message
    assert tomorrow.date().isoformat() in error.message


async def test_a_dose_for_a_hold_not_committed_is_refused(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batch = await receive(mesh, clinic)
    pending = await reserved(mesh, slot)

    error = await refusal_of(mesh, clinic, pending, batch)

    assert error.reason == "HOLD_NOT_COMMITTED"
    assert hold_of(clinic, pending) in error.message
    assert (await batch_now(mesh, batch)).doses_used == 0


async def test_the_first_reason_in_order_is_given_when_several_apply(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    other, _ = await clinic_with_slot(mesh, vaccines=(OTHER_VACCINE,))
    # At another clinic, of another vaccine, and past its last day.
    elsewhere = await receive(mesh, other, vaccine=OTHER_VACCINE, expires_in_days=0)
    await receive(mesh, clinic)
    pending = await reserved(mesh, slot)
    tomorrow = mesh.clock.now() + timedelta(days=1)

    error = await refusal_of(mesh, clinic, pending, elsewhere, tomorrow)

    assert error.reason == "BATCH_OTHER_CLINIC"


async def test_a_later_call_for_the_appointment_returns_the_first_record(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    first_batch = await receive(mesh, clinic, doses=5)
    second_batch = await receive(mesh, clinic, doses=5)
    appointment = await confirmed(mesh, slot)
    first = await consume(mesh, clinic, appointment, first_batch)
    mesh.clock.advance(60)

    again = await consume(mesh, clinic, appointment, second_batch)

    assert again == first
    assert (await batch_now(mesh, first_batch)).doses_used == 1
    assert (await batch_now(mesh, second_batch)).doses_used == 0
    assert (await availability(mesh, slot)).doses.total == 9


async def test_two_calls_at_once_for_one_appointment_record_one_use(mesh):
    clinic, slot = await clinic_with_slot(mesh)
    batches = [await receive(mesh, clinic, doses=5) for _ in range(2)]
    appointment = await confirmed(mesh, slot)
    requests = [
        consume_request(clinic, appointment, batch, mesh.clock.now())
        for batch in batches
    ]

    uses = await asyncio.gather(*(mesh.inventory.ConsumeDose(r) for r in requests))

    assert uses[0] == uses[1]
    assert uses[0].request_id in {r.request_id for r in requests}
    used = [(await batch_now(mesh, batch)).doses_used for batch in batches]
    assert sorted(used) == [0, 1]
    doses = (await availability(mesh, slot)).doses
    assert (doses.total, doses.committed) == (9, 0)
    assert await drift_of(mesh, clinic) == frozenset()


async def test_bad_dose_fields_are_reported_together(mesh):
    error = await refused(
        mesh.inventory.ConsumeDose(
            inv.ConsumeDoseRequest(
                hold="holds/1", batch="clinics/a/batches/", appointment="x"
            )
        )
    )

    assert set(error.field_violations) == {
        "hold",
        "batch",
        "appointment",
        "administer_time",
        "request_id",
    }
