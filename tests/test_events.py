"""Lifecycle events: written with each change, relayed to JetStream once and in
order, and kept waiting in the outbox while NATS is down."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import nats
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import MetaData, func, select, text
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.events.v1 import events_pb2

from services.common.db import create_engine
from services.common.errors import read_error
from services.common.events import EventSettings, new_event
from services.common.outbox import (
    EVENTS_DUPLICATED,
    OutboxRelay,
    outbox_table,
    write_events,
)
from tests.mesh import booker, make_clinic, make_slot, new_id, reserve_request
from tests.polling import eventually

UNREACHABLE_NATS = "nats://127.0.0.1:1"


async def _stream_events(settings: EventSettings, subject: str) -> list:
    """Every event stored on the stream under ``subject``, oldest first."""
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        try:
            consumer = await js.pull_subscribe(subject, stream=settings.stream)
        except NotFoundError:
            return []  # the relay creates the stream on its first pass
        events = []
        while True:
            try:
                batch = await consumer.fetch(100, timeout=0.5)
            except TimeoutError:  # nats raises its own subclass, or the plain one
                return events
            for message in batch:
                event = events_pb2.Event()
                event.ParseFromString(message.data)
                events.append((message.subject, message.headers, event))
                await message.ack()
    finally:
        await client.close()


async def test_each_change_publishes_its_event_once_and_in_order(mesh, settings):
    events = EventSettings.from_settings(settings)
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )
    await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=reserved.name, request_id=new_id())
    )

    async def mine():
        published = await _stream_events(events, f"{events.prefix}.appointment.*")
        return [
            (subject, headers, event)
            for subject, headers, event in published
            if getattr(event, event.WhichOneof("payload")).appointment.appointment
            == reserved.name
        ]

    async def all_three_published() -> bool:
        return len(await mine()) >= 3

    await eventually(all_three_published)
    published = await mine()
    assert [subject.rsplit(".", 1)[1] for subject, _, _ in published] == [
        "reserved",
        "confirmed",
        "cancelled",
    ]
    assert [headers["Nats-Msg-Id"] for _, headers, _ in published] == [
        event.event_id for _, _, event in published
    ]
    cancelled = published[2][2].appointment_cancelled
    assert cancelled.was_confirmed
    assert cancelled.appointment.citizen == reserved.citizen


async def test_a_refused_reservation_is_recorded_as_expired_with_its_reason(mesh):
    clinic = await make_clinic(mesh, doses=0)
    slot = await make_slot(mesh, clinic)
    request = reserve_request(slot, await booker(mesh))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ReserveAppointment(request)

    assert read_error(refused.value).reason == "OUT_OF_DOSES"

    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=request.citizen)
    )
    assert [(a.state, a.end_reason) for a in listed.appointments] == [
        (appt.APPOINTMENT_STATE_EXPIRED, "OUT_OF_DOSES")
    ]


@pytest.fixture
async def scratch_outbox(database_url):
    """An outbox table of its own, so only this test's relays publish it."""
    schema = f"outbox_test_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    table = outbox_table(metadata)
    engine = create_engine(database_url, pool_size=4)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(metadata.create_all)
    yield engine, table
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    await engine.dispose()


async def _write(engine, table, settings: EventSettings, clock, count: int) -> list:
    written = []
    for index in range(count):
        payload = events_pb2.SlotCapacityChanged(
            slot=f"clinics/c/slots/{index}", old_capacity=index, new_capacity=index + 1
        )
        written.append(
            (
                settings.subject("clinic", "capacity_changed"),
                new_event("slot_capacity_changed", payload, clock.now()),
            )
        )
    async with engine.begin() as conn:
        await write_events(conn, table, written, clock.now())
    return [event.event_id for _, event in written]


async def _unsent(engine, table) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).where(table.c.sent_at.is_(None)))


async def test_events_wait_while_nats_is_down_then_flow_in_order(
    scratch_outbox, settings, clock
):
    engine, table = scratch_outbox
    events = EventSettings(settings.nats_url, f"vbwait-{uuid.uuid4().hex[:8]}")
    ids = await _write(engine, table, events, clock, 5)
    down = OutboxRelay(
        engine, table, EventSettings(UNREACHABLE_NATS, events.prefix), clock
    )

    assert await down.relay_or_wait() == 0
    assert await _unsent(engine, table) == 5

    up = OutboxRelay(engine, table, events, clock)
    assert await up.relay_or_wait() == 5
    await up.close()
    assert await _unsent(engine, table) == 0
    published = await _stream_events(events, f"{events.prefix}.>")
    assert [event.event_id for _, _, event in published] == ids


async def test_competing_relays_publish_each_event_once(
    scratch_outbox, settings, clock
):
    engine, table = scratch_outbox
    events = EventSettings(settings.nats_url, f"vbrace-{uuid.uuid4().hex[:8]}")
    ids = await _write(engine, table, events, clock, 300)
    relays = [OutboxRelay(engine, table, events, clock) for _ in range(3)]
    duplicates_before = EVENTS_DUPLICATED.labels(table.schema)._value.get()

    while await _unsent(engine, table):
        await asyncio.gather(*(relay.relay_once() for relay in relays))

    for relay in relays:
        await relay.close()
    assert EVENTS_DUPLICATED.labels(table.schema)._value.get() == duplicates_before
    published = await _stream_events(events, f"{events.prefix}.>")
    assert [event.event_id for _, _, event in published] == ids
