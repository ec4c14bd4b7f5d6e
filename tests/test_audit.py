"""The audit trail: every event stored once and in order in a hash chain the
database will not let anyone rewrite; views of personal data recorded with
who, what and why; queries for auditors; and a verify that names the first
altered record."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import grpc
import nats
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.audit.v1 import audit_pb2 as pb
from vaxbook.audit.v1 import audit_pb2_grpc
from vaxbook.events.v1 import events_pb2
from vaxbook.patient.v1 import patient_pb2 as pat

from services.appointment.tables import outbox as appointment_outbox
from services.audit import app as audit_app
from services.audit import chain
from services.audit.consumer import DURABLE_NAME, AuditConsumer
from services.audit.entries import entry_of
from services.audit.store import AuditStore
from services.cli import verify_audit
from services.common.auth import Role
from services.common.clock import SystemClock, to_timestamp
from services.common.db import create_engine
from services.common.errors import read_error
from services.common.events import EventSettings, ensure_stream, new_event
from services.common.server import RunningServer, create_server
from services.devstack import create_database, drop_database, start_nats
from services.eligibility.rules import load_rules
from services.migrate import migrate
from tests.conftest import RUN_ID
from tests.mesh import (
    booker,
    bookers,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
    start_mesh,
)
from tests.polling import eventually

GET_PATIENT = "/vaxbook.patient.v1.PatientService/GetPatient"
GET_APPOINTMENT = "/vaxbook.appointment.v1.AppointmentService/GetAppointment"
VIEWED = "personal_data_viewed"
BURST = 30
FAILOVER_BURST = 40
STOP_NATS_AFTER = 12
CANCELLED = 6
# Long enough for a consumer backing off from an outage to come back.
CATCH_UP_SECONDS = 30.0


# Servers


async def start_audit_server(mesh, settings) -> RunningServer:
    """An audit service that fetches signing keys from the mesh's auth."""
    own = dataclasses.replace(
        settings,
        service_addrs={
            name: f"127.0.0.1:{running.port}" for name, running in mesh.servers.items()
        },
    )
    registrations, on_stop = await audit_app.build(own, mesh.clock)
    running = await create_server("audit", registrations, "127.0.0.1:0")
    running.on_stop.extend(on_stop)
    return running


async def add_audit(mesh, settings):
    """Starts the mesh's audit service unless it has one; returns how to
    stop what was started."""
    if "audit" in mesh.servers:
        return None
    mesh.servers["audit"] = await start_audit_server(mesh, settings)

    async def stop() -> None:
        await mesh.servers.pop("audit").stop(grace=0)

    return stop


@pytest.fixture(scope="module")
async def audited_mesh(mesh, settings):
    """The session mesh with its audit service."""
    stop = await add_audit(mesh, settings)
    yield mesh
    if stop is not None:
        await stop()


@pytest.fixture
def nats_server(tmp_path):
    server = start_nats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
async def nats_failover_mesh(servers, settings, clock, insurance, nats_server):
    """A mesh with a NATS server of its own, and a database of its own so
    that no other mesh's relay publishes its outbox elsewhere."""
    name = f"vaxbook_test_{RUN_ID}_nats"
    database_url = create_database(servers.database_url, name)
    migrate(database_url)
    own = dataclasses.replace(
        settings,
        database_url=database_url,
        nats_url=nats_server.url,
        event_prefix=f"vbnats-{RUN_ID}",
        key_prefix=f"{settings.key_prefix}-nats",
    )
    running = await start_mesh(own, clock, insurance)
    stop_audit = await add_audit(running, own)
    yield running, database_url
    if stop_audit is not None:
        await stop_audit()
    await running.stop()
    drop_database(servers.database_url, name)


# Builders


def as_auditor(mesh) -> tuple:
    return mesh.token(f"staffAccounts/{new_id()}", Role.AUDITOR)


def as_staff(mesh, staff: str, clinic) -> tuple:
    return mesh.token(staff, Role.CLINIC_STAFF, [clinic.name])


def audit_stub(mesh) -> audit_pb2_grpc.AuditServiceStub:
    return audit_pb2_grpc.AuditServiceStub(mesh.channel("audit"))


async def audit_records(mesh, **filters) -> list[pb.AuditRecord]:
    """Every record matching ``filters``, oldest first, read by an auditor a
    page at a time."""
    stub, metadata = audit_stub(mesh), as_auditor(mesh)
    records, page_token = [], ""
    while True:
        page = await stub.ListAuditRecords(
            pb.ListAuditRecordsRequest(page_token=page_token, **filters),
            metadata=metadata,
        )
        records.extend(page.audit_records)
        page_token = page.next_page_token
        if not page_token:
            return records


async def until_audited(mesh, count: int, **filters) -> list[pb.AuditRecord]:
    """The matching records, once there are at least ``count`` of them."""
    found: list[pb.AuditRecord] = []

    async def enough() -> bool:
        found[:] = await audit_records(mesh, **filters)
        return len(found) >= count

    await eventually(enough, timeout_seconds=CATCH_UP_SECONDS)
    return found


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return read_error(error.value)


async def reserve(mesh, slot, citizen: str) -> appt.Appointment:
    return await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen))


async def confirm(mesh, name: str) -> appt.Appointment:
    return await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=name, request_id=new_id())
    )


async def cancel(mesh, name: str) -> appt.Appointment:
    return await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=name, request_id=new_id())
    )


def stock_changed(clinic: str) -> events_pb2.Event:
    """An event about ``clinic`` alone, easy to find in the trail."""
    payload = events_pb2.DoseStockChanged(
        clinic=clinic, vaccine="comirnaty", old_doses=10, new_doses=9
    )
    return new_event("dose_stock_changed", payload, datetime.now(UTC))


async def publish(
    settings, event: events_pb2.Event, message_id: str, subject: str = ""
) -> None:
    """Publishes ``event`` on the run's stream under ``message_id``, on
    ``subject`` or else the stock-changed subject."""
    await publish_to(EventSettings.from_settings(settings), event, message_id, subject)


async def publish_to(
    events: EventSettings,
    event: events_pb2.Event,
    message_id: str = "",
    subject: str = "",
) -> None:
    """Publishes ``event`` on the stream of ``events``."""
    client = await nats.connect(events.nats_url)
    try:
        js = client.jetstream()
        await ensure_stream(js, events)
        await js.publish(
            subject or events.subject("inventory", "stock_changed"),
            event.SerializeToString(),
            headers={"Nats-Msg-Id": message_id or event.event_id},
        )
    finally:
        await client.close()


async def written_by_appointment(database_url: str) -> dict[str, list[str]]:
    """The ids of the events in the appointment outbox, per appointment, in
    the order they were written."""
    engine = create_engine(database_url, pool_size=1)
    written = defaultdict(list)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(appointment_outbox.c.payload).order_by(appointment_outbox.c.id)
        )
        for (payload,) in rows:
            entry = entry_of("", payload)
            written[entry.appointment].append(entry.event_id)
    await engine.dispose()
    return written


async def unsent(database_url: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).where(appointment_outbox.c.sent_at.is_(None))
        )
    await engine.dispose()
    return count


async def stored_chain(database_url: str, count: int) -> list[chain.AuditRow]:
    """A chain of ``count`` records appended straight to the database."""
    engine = create_engine(database_url, pool_size=1)
    store = AuditStore(engine)
    entries = [
        entry_of(
            "vaxbook.inventory.stock_changed",
            stock_changed(f"clinics/c{index}").SerializeToString(),
        )
        for index in range(count)
    ]
    await store.append(entries, datetime.now(UTC))
    rows = [row async for row in store.in_chain_order()]
    await engine.dispose()
    return rows


async def tamper(database_url: str, statement: str) -> None:
    """Runs ``statement`` on the records with the guard trigger off, as only
    the table's owner can."""
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit.records DISABLE TRIGGER USER"))
        await conn.execute(text(statement))
        await conn.execute(text("ALTER TABLE audit.records ENABLE TRIGGER USER"))
    await engine.dispose()


# What a record says


def test_an_event_is_filed_under_its_appointment_person_and_clinic():
    ref = events_pb2.AppointmentRef(
        appointment="appointments/a1",
        citizen="citizens/c1/dependants/d1",
        slot="clinics/k1/slots/s1",
    )
    event = new_event(
        "appointment_cancelled",
        events_pb2.AppointmentCancelled(appointment=ref, reason="CANCELLED"),
        datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    )

    entry = entry_of("vaxbook.appointment.cancelled", event.SerializeToString())

    assert entry.event_type == "appointment_cancelled"
    assert (entry.appointment, entry.citizen, entry.clinic, entry.actor) == (
        "appointments/a1",
        "citizens/c1/dependants/d1",
        "clinics/k1",
        "",
    )
    assert entry.occur_time == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


FILED_REF = events_pb2.AppointmentRef(
    appointment="appointments/a1",
    citizen="citizens/c1",
    slot="clinics/k1/slots/s1",
)


@pytest.mark.parametrize(
    ("field", "payload", "filed_under"),
    [
        pytest.param(
            "appointment_clinic_cancelled",
            events_pb2.AppointmentClinicCancelled(
                appointment=FILED_REF, reason="SLOT_CANCELLED", note="Flooded"
            ),
            ("appointments/a1", "citizens/c1", "clinics/k1", ""),
            id="clinic-cancelled",
        ),
        # The offer's own slot wins over the cancelled appointment's: the
        # record is filed under the clinic where the seat is held.
        pytest.param(
            "rebooking_offered",
            events_pb2.RebookingOffered(
                offer="appointments/a1/rebookingOffer",
                appointment=FILED_REF,
                slot="clinics/k2/slots/s9",
            ),
            ("appointments/a1", "citizens/c1", "clinics/k2", ""),
            id="offered",
        ),
        pytest.param(
            "rebooking_offer_closed",
            events_pb2.RebookingOfferClosed(
                offer="appointments/a1/rebookingOffer",
                appointment=FILED_REF,
                outcome="ACCEPTED",
                new_appointment="appointments/a2",
            ),
            ("appointments/a1", "citizens/c1", "clinics/k1", ""),
            id="offer-closed",
        ),
        pytest.param(
            "slot_cancelled",
            events_pb2.SlotCancelled(
                slot="clinics/k1/slots/s1", reason="Flooded", actor="staffAccounts/s1"
            ),
            ("", "", "clinics/k1", "staffAccounts/s1"),
            id="slot-cancelled",
        ),
        pytest.param(
            "dose_stock_adjusted",
            events_pb2.DoseStockAdjusted(
                clinic="clinics/k1", delta=-5, actor="staffAccounts/s1"
            ),
            ("", "", "clinics/k1", "staffAccounts/s1"),
            id="stock-adjusted",
        ),
        pytest.param(
            "appointment_review_resolved",
            events_pb2.AppointmentReviewResolved(appointment=FILED_REF, approved=True),
            ("appointments/a1", "citizens/c1", "clinics/k1", ""),
            id="review-resolved",
        ),
        pytest.param(
            "rule_set_activated",
            events_pb2.RuleSetActivated(version="2027.2", actor="staffAccounts/a1"),
            ("", "", "", "staffAccounts/a1"),
            id="rule-set",
        ),
    ],
)
def test_a_clinic_cancellation_offer_review_or_rule_event_is_filed_by_name(
    field, payload, filed_under
):
    event = new_event(field, payload, datetime(2027, 3, 1, 9, 30, tzinfo=UTC))

    entry = entry_of(f"vaxbook.test.{field}", event.SerializeToString())

    assert entry.event_type == field
    assert (entry.appointment, entry.citizen, entry.clinic, entry.actor) == (
        filed_under
    )


def test_a_payload_newer_than_the_service_is_kept_whole_as_unknown():
    known = stock_changed("clinics/k1")
    known.ClearField("dose_stock_changed")
    # Field 99, length-delimited, holding three bytes.
    data = known.SerializeToString() + b"\x9a\x06\x03abc"

    entry = entry_of("vaxbook.future.happened", data)

    assert entry.event_type == "unknown"
    assert entry.event == data
    assert entry.event_id == known.event_id


# Every event once, in order


async def test_every_status_change_of_a_burst_is_audited_once_and_in_order(
    audited_mesh, database_url
):
    mesh = audited_mesh
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, capacity=BURST)
    citizens = await bookers(mesh, BURST)

    booked = await asyncio.gather(*(reserve(mesh, slot, c) for c in citizens))
    names = [appointment.name for appointment in booked]
    await asyncio.gather(*(confirm(mesh, name) for name in names))
    await asyncio.gather(*(cancel(mesh, name) for name in names[:CANCELLED]))

    written = await written_by_appointment(database_url)
    for index, name in enumerate(names):
        expected = ["appointment_reserved", "appointment_confirmed"]
        if index < CANCELLED:
            expected.append("appointment_cancelled")
        records = await until_audited(mesh, len(expected), appointment=name)
        assert [r.event_type for r in records] == expected
        assert [r.event_id for r in records] == written[name]


async def test_the_same_event_delivered_twice_is_stored_once(audited_mesh, settings):
    mesh = audited_mesh
    clinic = f"clinics/{new_id()}"
    event = stock_changed(clinic)
    after = f"clinics/{new_id()}"

    # Different message ids: JetStream keeps both copies and delivers both.
    await publish(settings, event, new_id())
    await publish(settings, event, new_id())
    await publish(settings, stock_changed(after), new_id())
    await until_audited(mesh, 1, clinic=after)

    records = await audit_records(mesh, clinic=clinic)
    assert [r.event_id for r in records] == [event.event_id]
    assert records[0].event == event


async def test_nats_stopped_mid_burst_loses_and_doubles_nothing(
    nats_failover_mesh, nats_server
):
    mesh, database_url = nats_failover_mesh
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, capacity=FAILOVER_BURST)
    citizens = await bookers(mesh, FAILOVER_BURST)
    held: list[str] = []

    async def one(index: int) -> None:
        await asyncio.sleep(index * 0.01)
        held.append((await reserve(mesh, slot, citizens[index])).name)
        if len(held) == STOP_NATS_AFTER:
            await asyncio.to_thread(nats_server.stop)

    await asyncio.gather(*(one(index) for index in range(FAILOVER_BURST)))
    await asyncio.gather(*(confirm(mesh, name) for name in held))
    await asyncio.gather(*(cancel(mesh, name) for name in held[:CANCELLED]))
    waiting = await unsent(database_url)
    await asyncio.to_thread(nats_server.start)

    written = await written_by_appointment(database_url)
    expected_count = sum(len(written[name]) for name in held)

    async def all_audited() -> bool:
        records = await audit_records(mesh, clinic=clinic.name)
        return sum(1 for r in records if r.appointment in held) >= expected_count

    await eventually(all_audited, timeout_seconds=CATCH_UP_SECONDS)
    records = await audit_records(mesh)
    assert waiting > 0
    assert [len(written[name]) for name in held] == [3] * CANCELLED + [2] * (
        FAILOVER_BURST - CANCELLED
    )
    assert Counter(r.event_id for r in records).most_common(1)[0][1] == 1
    for name in held:
        audited = [r.event_id for r in records if r.appointment == name]
        assert audited == written[name]
    verdict = await audit_stub(mesh).VerifyAuditChain(
        pb.VerifyAuditChainRequest(), metadata=as_auditor(mesh)
    )
    assert not verdict.HasField("first_mismatch")
    assert verdict.records_checked >= len(records)


async def test_a_delivery_lost_on_its_way_is_read_from_the_stream_in_its_place(
    fresh_database, settings
):
    # The consumer's first delivery goes to a client that never acknowledges
    # it, as when NATS drops a connection with a batch on its way: JetStream
    # would send it again only after the ack wait, behind the events after it.
    events = EventSettings(settings.nats_url, f"vbgap-{new_id()[:12]}")
    store_engine = create_engine(fresh_database, pool_size=1)
    consumer = AuditConsumer(AuditStore(store_engine), events, SystemClock())
    published = [stock_changed(f"clinics/{new_id()}") for _ in range(4)]
    thief = await nats.connect(events.nats_url)
    try:
        await consumer._subscribe()
        for event in published:
            await publish_to(events, event)
        stolen = await thief.jetstream().pull_subscribe(
            f"{events.prefix}.>", durable=DURABLE_NAME, stream=events.stream
        )
        [lost] = await stolen.fetch(1, timeout=5)

        added = await consumer.consume_once()

        filed = [
            row.event_id async for row in AuditStore(store_engine).in_chain_order()
        ]
    finally:
        await thief.close()
        await consumer.close()
        await store_engine.dispose()
    assert entry_of(lost.subject, lost.data).event_id == published[0].event_id
    assert added == len(published)
    assert filed == [event.event_id for event in published]


async def test_clinic_cancellations_offers_and_reviews_are_found_by_every_name(
    audited_mesh, settings
):
    mesh = audited_mesh
    clinic, elsewhere = f"clinics/{new_id()}", f"clinics/{new_id()}"
    citizen = f"citizens/{new_id()}"
    staff, admin = f"staffAccounts/{new_id()}", f"staffAccounts/{new_id()}"
    cancelled = events_pb2.AppointmentRef(
        appointment=f"appointments/{new_id()}",
        citizen=citizen,
        slot=f"{clinic}/slots/{new_id()}",
        vaccine="comirnaty",
        dose_number=1,
    )
    reviewed = events_pb2.AppointmentRef(
        appointment=f"appointments/{new_id()}",
        citizen=citizen,
        slot=f"{clinic}/slots/{new_id()}",
        vaccine="spikevax",
        dose_number=1,
    )
    offer = f"{cancelled.appointment}/rebookingOffer"
    published = [
        (
            "clinic",
            "slot_cancelled",
            events_pb2.SlotCancelled(
                slot=cancelled.slot, reason="Flooded", actor=staff
            ),
        ),
        (
            "clinic",
            "dose_stock_adjusted",
            events_pb2.DoseStockAdjusted(
                clinic=clinic, vaccine="comirnaty", delta=-5, actor=staff
            ),
        ),
        (
            "appointment",
            "appointment_clinic_cancelled",
            events_pb2.AppointmentClinicCancelled(
                appointment=cancelled, reason="SLOT_CANCELLED", note="Flooded"
            ),
        ),
        (
            "appointment",
            "rebooking_offered",
            events_pb2.RebookingOffered(
                offer=offer, appointment=cancelled, slot=f"{elsewhere}/slots/{new_id()}"
            ),
        ),
        (
            "appointment",
            "rebooking_offer_closed",
            events_pb2.RebookingOfferClosed(
                offer=offer, appointment=cancelled, outcome="LAPSED"
            ),
        ),
        (
            "appointment",
            "appointment_review_resolved",
            events_pb2.AppointmentReviewResolved(appointment=reviewed, approved=True),
        ),
        (
            "eligibility",
            "rule_set_activated",
            events_pb2.RuleSetActivated(version=f"2027.9-{new_id()[:8]}", actor=admin),
        ),
    ]
    events = EventSettings.from_settings(settings)
    for aggregate, field, payload in published:
        event = new_event(field, payload, mesh.clock.now())
        await publish(settings, event, event.event_id, events.subject(aggregate, field))

    by_citizen = await until_audited(mesh, 4, citizen=citizen)
    by_appointment = await audit_records(mesh, appointment=cancelled.appointment)
    by_clinic = await audit_records(mesh, clinic=clinic)
    offers_elsewhere = await audit_records(
        mesh, clinic=elsewhere, event_type="rebooking_offered"
    )
    by_staff = await until_audited(mesh, 2, actor=staff)
    by_admin = await until_audited(mesh, 1, actor=admin)

    assert [r.event_type for r in by_appointment] == [
        "appointment_clinic_cancelled",
        "rebooking_offered",
        "rebooking_offer_closed",
    ]
    assert [r.event_type for r in by_citizen] == [
        "appointment_clinic_cancelled",
        "rebooking_offered",
        "rebooking_offer_closed",
        "appointment_review_resolved",
    ]
    assert [r.event_type for r in by_clinic] == [
        "slot_cancelled",
        "dose_stock_adjusted",
        "appointment_clinic_cancelled",
        "rebooking_offer_closed",
        "appointment_review_resolved",
    ]
    assert [(r.appointment, r.citizen) for r in offers_elsewhere] == [
        (cancelled.appointment, citizen)
    ]
    assert [(r.event_type, r.clinic) for r in by_staff] == [
        ("slot_cancelled", clinic),
        ("dose_stock_adjusted", clinic),
    ]
    assert [r.event_type for r in by_admin] == ["rule_set_activated"]


async def test_the_rules_the_eligibility_service_shipped_with_are_in_the_trail(
    audited_mesh,
):
    shipped = load_rules().version

    records = await until_audited(audited_mesh, 1, event_type="rule_set_activated")

    started = [
        r
        for r in records
        if r.event.rule_set_activated.version == shipped
        and r.event.rule_set_activated.actor == ""
    ]
    assert started
    assert all(r.subject.endswith(".eligibility.rule_set_activated") for r in started)


# Views of personal data


async def test_a_staff_view_of_a_patient_record_is_recorded_with_who_what_and_why(
    audited_mesh,
):
    mesh = audited_mesh
    citizen = await booker(mesh)
    clinic = await make_clinic(mesh)
    await reserve(mesh, await make_slot(mesh, clinic), citizen)
    staff = f"staffAccounts/{new_id()}"
    request = pat.GetPatientRequest(name=f"citizens/{citizen}/patient")
    viewed_at = mesh.clock.now()

    # A service reading for itself is not recorded; the staff member is.
    await mesh.patients.GetPatient(request)
    await mesh.patients.GetPatient(request, metadata=as_staff(mesh, staff, clinic))

    await until_audited(mesh, 1, actor=staff)
    [record] = await audit_records(
        mesh, citizen=f"citizens/{citizen}", event_type=VIEWED
    )
    viewed = record.event.personal_data_viewed
    assert record.actor == staff
    assert (viewed.actor_role, viewed.resource, viewed.rpc) == (
        "clinic_staff",
        f"citizens/{citizen}/patient",
        GET_PATIENT,
    )
    assert record.occur_time == to_timestamp(viewed_at)


async def test_staff_reading_an_appointment_is_recorded_but_its_citizen_is_not(
    audited_mesh,
):
    mesh = audited_mesh
    citizen = await booker(mesh)
    clinic = await make_clinic(mesh)
    booked = await reserve(mesh, await make_slot(mesh, clinic), citizen)
    staff = f"staffAccounts/{new_id()}"
    request = appt.GetAppointmentRequest(name=booked.name)

    await mesh.appointments.GetAppointment(
        request, metadata=mesh.token(f"citizens/{citizen}")
    )
    await mesh.appointments.GetAppointment(
        request, metadata=as_staff(mesh, staff, clinic)
    )

    await until_audited(mesh, 1, actor=staff)
    views = await audit_records(mesh, appointment=booked.name, event_type=VIEWED)
    assert [
        (r.actor, r.citizen, r.clinic, r.event.personal_data_viewed.rpc) for r in views
    ] == [(staff, f"citizens/{citizen}", clinic.name, GET_APPOINTMENT)]


# Queries


async def test_auditors_narrow_the_trail_by_each_filter_and_page_through_it(
    audited_mesh,
):
    mesh = audited_mesh
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    kept_by, dropped_by = await booker(mesh), await booker(mesh)
    kept = await reserve(mesh, slot, kept_by)
    mesh.clock.advance(1)
    second_began = mesh.clock.now()
    await confirm(mesh, kept.name)
    dropped = await reserve(mesh, slot, dropped_by)
    mesh.clock.advance(1)
    await cancel(mesh, dropped.name)
    await until_audited(mesh, 2, appointment=kept.name)
    await until_audited(mesh, 2, appointment=dropped.name)
    staff = f"staffAccounts/{new_id()}"
    await mesh.patients.GetPatient(
        pat.GetPatientRequest(name=f"citizens/{kept_by}/patient"),
        metadata=as_staff(mesh, staff, clinic),
    )
    await until_audited(mesh, 1, actor=staff)

    by_appointment = await audit_records(mesh, appointment=kept.name)
    by_citizen = await audit_records(mesh, citizen=f"citizens/{kept_by}")
    by_clinic = await audit_records(mesh, clinic=clinic.name)
    cancelled = await audit_records(
        mesh, clinic=clinic.name, event_type="appointment_cancelled"
    )
    by_actor = await audit_records(mesh, actor=staff)
    in_second = await audit_records(
        mesh,
        clinic=clinic.name,
        start_time=to_timestamp(second_began),
        end_time=to_timestamp(second_began + timedelta(seconds=1)),
    )

    assert [r.event_type for r in by_appointment] == [
        "appointment_reserved",
        "appointment_confirmed",
    ]
    assert [r.event_type for r in by_citizen] == [
        "appointment_reserved",
        "appointment_confirmed",
        VIEWED,
    ]
    assert {kept.name, dropped.name} <= {r.appointment for r in by_clinic}
    assert {r.clinic for r in by_clinic} == {clinic.name}
    assert [r.appointment for r in cancelled] == [dropped.name]
    assert [(r.citizen, r.event_type) for r in by_actor] == [
        (f"citizens/{kept_by}", VIEWED)
    ]
    assert [
        (r.appointment, r.event_type)
        for r in in_second
        if r.event_type.startswith("appointment_")
    ] == [
        (kept.name, "appointment_confirmed"),
        (dropped.name, "appointment_reserved"),
    ]

    stub, metadata = audit_stub(mesh), as_auditor(mesh)
    request = pb.ListAuditRecordsRequest(citizen=f"citizens/{kept_by}", page_size=2)
    first = await stub.ListAuditRecords(request, metadata=metadata)
    request.page_token = first.next_page_token
    second = await stub.ListAuditRecords(request, metadata=metadata)
    assert [len(first.audit_records), len(second.audit_records)] == [2, 1]
    assert second.next_page_token == ""
    paged = [r.seq for r in (*first.audit_records, *second.audit_records)]
    assert paged == [r.seq for r in by_citizen] == sorted(paged)


async def test_only_auditors_admins_and_services_read_the_trail(audited_mesh):
    mesh = audited_mesh
    stub = audit_stub(mesh)
    request = pb.ListAuditRecordsRequest(page_size=1)
    clinic = await make_clinic(mesh)
    outsiders = [
        mesh.token(f"citizens/{new_id()}"),
        as_staff(mesh, f"staffAccounts/{new_id()}", clinic),
        mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER),
    ]

    refusals = [
        await refused(stub.ListAuditRecords(request, metadata=metadata))
        for metadata in outsiders
    ]
    verify_refused = await refused(
        stub.VerifyAuditChain(pb.VerifyAuditChainRequest(), metadata=outsiders[0])
    )
    anonymous = audit_pb2_grpc.AuditServiceStub(mesh.anonymous("audit"))
    unsigned = await refused(anonymous.ListAuditRecords(request))

    assert {(e.code, e.reason) for e in [*refusals, verify_refused]} == {
        (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    }
    assert unsigned.code == grpc.StatusCode.UNAUTHENTICATED
    for role in (Role.AUDITOR, Role.ADMIN):
        metadata = mesh.token(f"staffAccounts/{new_id()}", role)
        await stub.ListAuditRecords(request, metadata=metadata)
    await stub.ListAuditRecords(request)


async def test_every_bad_filter_is_reported_together(audited_mesh):
    mesh = audited_mesh
    later = to_timestamp(mesh.clock.now())
    earlier = to_timestamp(mesh.clock.now() - timedelta(hours=1))

    error = await refused(
        audit_stub(mesh).ListAuditRecords(
            pb.ListAuditRecordsRequest(
                appointment="a1",
                citizen="people/c1",
                clinic="clinics/",
                event_type="appointment_exploded",
                start_time=later,
                end_time=earlier,
            ),
            metadata=as_auditor(mesh),
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.field_violations) == {
        "appointment",
        "citizen",
        "clinic",
        "event_type",
        "end_time",
    }


# The chain


async def test_the_whole_trail_verifies(audited_mesh, settings):
    mesh = audited_mesh
    clinic = f"clinics/{new_id()}"
    await publish(settings, stock_changed(clinic), new_id())
    await until_audited(mesh, 1, clinic=clinic)

    verdict = await audit_stub(mesh).VerifyAuditChain(
        pb.VerifyAuditChainRequest(), metadata=as_auditor(mesh)
    )

    assert verdict.records_checked >= 1
    assert not verdict.HasField("first_mismatch")
    assert verdict.problem == pb.CHAIN_PROBLEM_UNSPECIFIED


async def test_update_delete_and_truncate_of_audit_rows_are_refused(fresh_database):
    rows = await stored_chain(fresh_database, 3)
    engine = create_engine(fresh_database, pool_size=1)

    for statement in (
        "UPDATE audit.records SET actor = 'staffAccounts/x' WHERE seq = 2",
        "DELETE FROM audit.records WHERE seq = 3",
        "TRUNCATE audit.records",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))

    assert [row async for row in AuditStore(engine).in_chain_order()] == rows
    await engine.dispose()


async def test_an_event_appended_twice_is_stored_once(fresh_database):
    engine = create_engine(fresh_database, pool_size=1)
    store = AuditStore(engine)
    entry = entry_of("s", stock_changed("clinics/k1").SerializeToString())

    added = [
        await store.append([entry, entry], datetime.now(UTC)),
        await store.append([entry], datetime.now(UTC)),
    ]

    assert added == [1, 0]
    assert [row.event_id async for row in store.in_chain_order()] == [entry.event_id]
    await engine.dispose()


async def test_a_tampered_record_makes_verify_name_it(
    fresh_database, settings, audited_mesh, capsys
):
    rows = await stored_chain(fresh_database, 5)
    own = dataclasses.replace(
        settings, database_url=fresh_database, event_prefix=f"vbtamper-{new_id()}"
    )
    assert await verify_audit(own) == 0
    assert capsys.readouterr().out == "all 5 records verify\n"

    await tamper(
        fresh_database, "UPDATE audit.records SET citizen = 'citizens/x' WHERE seq = 3"
    )

    assert await verify_audit(own) == 1
    assert capsys.readouterr().out == (
        f"record 3 (event {rows[2].event_id}) does not verify: "
        "its content no longer gives its hash\n"
    )
    # The same through the RPC, from an audit service reading that database.
    server = await start_audit_server(audited_mesh, own)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            verdict = await audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditChain(
                pb.VerifyAuditChainRequest(), metadata=as_auditor(audited_mesh)
            )
    finally:
        await server.stop(grace=0)
    assert verdict.records_checked == 3
    assert (verdict.first_mismatch.seq, verdict.first_mismatch.event_id) == (
        3,
        rows[2].event_id,
    )
    assert verdict.problem == pb.CHAIN_PROBLEM_CONTENT_ALTERED


async def test_a_removed_record_makes_verify_name_the_one_after_it(fresh_database):
    rows = await stored_chain(fresh_database, 4)
    await tamper(fresh_database, "DELETE FROM audit.records WHERE seq = 2")
    engine = create_engine(fresh_database, pool_size=1)

    report = await chain.verify(AuditStore(engine).in_chain_order())

    await engine.dispose()
    assert (report.records_checked, report.mismatch.seq) == (2, rows[2].seq)
    assert report.problem is chain.ChainProblem.SEQUENCE_GAP
