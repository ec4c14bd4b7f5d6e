"""The outbox relays' guarantees: replicas running at once publish each event
exactly once and in order; events wait while NATS is down and flow when it
returns; clinic and inventory changes reach the stream under their subjects."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import nats
import nats.errors
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import MetaData, func, select, text
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.events.v1 import events_pb2
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.clock import to_timestamp
from services.common.db import create_engine
from services.common.events import EventSettings, new_event
from services.common.jobs import PeriodicJob
from services.common.outbox import OutboxRelay, outbox_table, write_events
from services.devstack import LocalStack
from tests.mesh import make_clinic, new_id
from tests.polling import eventually

# Replicas tick far more often than in production, so their passes collide.
REPLICA_INTERVAL_SECONDS = 0.005
SLOTS = 5
CHANGES_PER_SLOT = 120
EVENTS_PER_TRANSACTION = 20
# When the scratch events happened: it plays no part in relaying.
WRITTEN_AT = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


# Fixtures and builders.


@pytest.fixture
async def scratch_outbox(database_url):
    """An outbox table of its own, so only this test's relays publish it."""
    schema = f"relay_test_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    table = outbox_table(metadata)
    engine = create_engine(database_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(metadata.create_all)
    yield engine, table
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    await engine.dispose()


@pytest.fixture
async def replica_engines(database_url):
    """Two engines, as two service processes would have."""
    engines = [create_engine(database_url, pool_size=2) for _ in range(2)]
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory):
    """A NATS server of this module's own, to stop and start again."""
    stack = LocalStack(tmp_path_factory.mktemp("nats"))
    url = stack.start_nats()
    [server] = stack.servers
    yield url, server
    stack.stop()


def fresh_events(nats_url: str, name: str) -> EventSettings:
    """A subject prefix, and so a stream, no other test publishes to."""
    return EventSettings(nats_url, f"vb{name}-{uuid.uuid4().hex[:8]}")


def capacity_changes(settings: EventSettings, slot: int, capacities) -> list:
    """``(subject, event)`` pairs raising one slot's capacity step by step."""
    changes = []
    for capacity in capacities:
        payload = events_pb2.SlotCapacityChanged(
            slot=f"clinics/c/slots/{slot}",
            old_capacity=capacity - 1,
            new_capacity=capacity,
        )
        event = new_event("slot_capacity_changed", payload, WRITTEN_AT)
        changes.append((settings.subject("slot", "capacity_changed"), event))
    return changes


async def write(engine, table, changes: list) -> list[str]:
    """Writes ``changes`` in one transaction; returns their event ids."""
    async with engine.begin() as conn:
        await write_events(conn, table, changes, WRITTEN_AT)
    return [event.event_id for _, event in changes]


async def unsent(engine, table) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).where(table.c.sent_at.is_(None)))


async def published(settings: EventSettings, subject: str) -> list:
    """``(subject, headers, event)`` for every message stored under
    ``subject``, oldest first."""
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        try:
            consumer = await js.pull_subscribe(subject, stream=settings.stream)
        except NotFoundError:
            return []  # a relay creates the stream on its first pass
        stored = []
        pending = (await consumer.consumer_info()).num_pending
        while len(stored) < pending:
            batch = await consumer.fetch(min(200, pending - len(stored)), timeout=5)
            for message in batch:
                event = events_pb2.Event()
                event.ParseFromString(message.data)
                stored.append((message.subject, message.headers, event))
                await message.ack()
        return stored
    finally:
        await client.close()


# Replicas, watched.


@dataclass
class Replicas:
    """What the relay replicas of one outbox did between them."""

    passes_running: int = 0
    # Passes that began while another replica's pass was still running.
    overlapping_passes: int = 0
    duplicate_acks: int = 0


class WatchedRelay(OutboxRelay):
    """A real relay that also records its passes and every publish it makes
    on the real JetStream, so a test can tell the lease from deduplication."""

    def __init__(self, replicas: Replicas, *args) -> None:
        super().__init__(*args)
        self.replicas = replicas
        self.publishes: Counter[str] = Counter()

    async def relay_once(self) -> int:
        replicas = self.replicas
        if replicas.passes_running:
            replicas.overlapping_passes += 1
        replicas.passes_running += 1
        try:
            return await super().relay_once()
        finally:
            replicas.passes_running -= 1

    async def _jetstream(self):
        return _CountingJetStream(await super()._jetstream(), self)


class _CountingJetStream:
    def __init__(self, js, relay: WatchedRelay) -> None:
        self.js = js
        self.relay = relay

    async def publish(self, subject, payload, **options):
        self.relay.publishes[options["headers"]["Nats-Msg-Id"]] += 1
        ack = await self.js.publish(subject, payload, **options)
        if ack.duplicate:
            self.relay.replicas.duplicate_acks += 1
        return ack


async def run_replicas(
    engines, table, settings: EventSettings, clock
) -> tuple[Replicas, list[WatchedRelay], list[str]]:
    """Two relay replicas publish one outbox while changes to several slots
    are written, interleaved, a transaction at a time."""
    replicas = Replicas()
    relays = [WatchedRelay(replicas, e, table, settings, clock) for e in engines]
    jobs = [
        PeriodicJob(f"relay-{i}", relay.relay_or_wait, REPLICA_INTERVAL_SECONDS)
        for i, relay in enumerate(relays)
    ]
    for job in jobs:
        job.start()
    written = []
    steps = range(1, CHANGES_PER_SLOT + 1, EVENTS_PER_TRANSACTION)
    for first in steps:
        for slot in range(SLOTS):
            capacities = range(first, first + EVENTS_PER_TRANSACTION)
            changes = capacity_changes(settings, slot, capacities)
            written += await write(engines[0], table, changes)

    async def all_sent() -> bool:
        return await unsent(engines[0], table) == 0

    await eventually(all_sent, timeout_seconds=30)
    for job in jobs:
        await job.stop()
    for relay in relays:
        await relay.close()
    return replicas, relays, written


# Replicas at once.


async def test_two_relays_at_once_publish_each_event_exactly_once(
    scratch_outbox, replica_engines, settings, clock
):
    _, table = scratch_outbox
    events = fresh_events(settings.nats_url, "once")

    replicas, relays, written = await run_replicas(
        replica_engines, table, events, clock
    )

    assert replicas.overlapping_passes > 0, "the replicas never ran at once"
    first, second = (relay.publishes for relay in relays)
    assert not first.keys() & second.keys(), "an event went out from both"
    assert first + second == Counter(written)
    assert replicas.duplicate_acks == 0
    stored = await published(events, f"{events.prefix}.>")
    assert [event.event_id for _, _, event in stored] == written


async def test_each_slots_events_reach_the_stream_in_the_order_written(
    scratch_outbox, replica_engines, settings, clock
):
    _, table = scratch_outbox
    events = fresh_events(settings.nats_url, "order")

    await run_replicas(replica_engines, table, events, clock)

    stored = await published(events, f"{events.prefix}.>")
    by_slot: dict[str, list[int]] = {}
    for subject, headers, event in stored:
        change = event.slot_capacity_changed
        by_slot.setdefault(change.slot, []).append(change.new_capacity)
        assert subject == events.subject("slot", "capacity_changed")
        assert headers["Nats-Msg-Id"] == event.event_id
    assert by_slot == {
        f"clinics/c/slots/{slot}": list(range(1, CHANGES_PER_SLOT + 1))
        for slot in range(SLOTS)
    }


# NATS down.


async def test_events_wait_while_nats_is_down_and_flow_once_it_returns(
    scratch_outbox, own_nats, clock
):
    engine, table = scratch_outbox
    url, server = own_nats
    events = fresh_events(url, "down")
    relay = OutboxRelay(engine, table, events, clock)
    before = await write(engine, table, capacity_changes(events, 0, range(1, 4)))
    assert await relay.relay_or_wait() == 3

    await asyncio.to_thread(server.stop)
    during = await write(engine, table, capacity_changes(events, 0, range(4, 9)))
    assert await relay.relay_or_wait() == 0
    assert await relay.relay_or_wait() == 0
    assert await unsent(engine, table) == 5

    await asyncio.to_thread(server.start)
    assert await relay.relay_or_wait() == 5
    await relay.close()

    assert await unsent(engine, table) == 0
    stored = await published(events, f"{events.prefix}.>")
    assert [event.event_id for _, _, event in stored] == before + during


# Several publishes in flight, one appointment at a time.


def appointment_changes(settings: EventSettings, appointment: str, count: int):
    """``(subject, event)`` pairs: ``count`` changes of one appointment."""
    ref = events_pb2.AppointmentRef(appointment=f"appointments/{appointment}")
    payload = events_pb2.AppointmentConfirmed(appointment=ref)
    subject = settings.subject("appointment", "confirmed")
    return [
        (subject, new_event("appointment_confirmed", payload, WRITTEN_AT))
        for _ in range(count)
    ]


def interleaved(*changes: list) -> list:
    """The first change of each list, then the second of each, and so on."""
    rounds = itertools.zip_longest(*changes)
    return [change for changes in rounds for change in changes if change]


def appointment_in(payload: bytes) -> str | None:
    event = events_pb2.Event.FromString(payload)
    if event.HasField("appointment_confirmed"):
        return event.appointment_confirmed.appointment.appointment
    return None


@dataclass
class Publishes:
    """Which publishes were in flight together, and which events to lose."""

    running: Counter[str | None] = field(default_factory=Counter)
    most_at_once: int = 0
    most_of_one_appointment: int = 0
    # Publishes of events naming no appointment that overlapped another.
    not_alone: int = 0
    tries: Counter[str] = field(default_factory=Counter)
    # Event id to lose on its first try, once the event id it maps to is
    # acknowledged: a later event stored while an earlier one is lost.
    lose: dict[str, str] = field(default_factory=dict)
    acknowledged: dict[str, asyncio.Event] = field(default_factory=dict)

    def started(self, appointment: str | None) -> None:
        others = sum(self.running.values())
        if others and (appointment is None or self.running[None]):
            self.not_alone += 1
        self.running[appointment] += 1
        self.most_at_once = max(self.most_at_once, others + 1)
        if appointment is not None:
            self.most_of_one_appointment = max(
                self.most_of_one_appointment, self.running[appointment]
            )

    def ack_of(self, event_id: str) -> asyncio.Event:
        return self.acknowledged.setdefault(event_id, asyncio.Event())


class WatchingRelay(OutboxRelay):
    """A real relay whose publishes to the real JetStream are watched, and
    one of them lost on demand."""

    def __init__(self, publishes: Publishes, *args) -> None:
        super().__init__(*args)
        self.publishes = publishes

    async def _jetstream(self):
        return _WatchingJetStream(await super()._jetstream(), self.publishes)


class _WatchingJetStream:
    def __init__(self, js, publishes: Publishes) -> None:
        self.js = js
        self.publishes = publishes

    async def publish(self, subject, payload, **options):
        publishes = self.publishes
        event_id = options["headers"]["Nats-Msg-Id"]
        appointment = appointment_in(payload)
        publishes.tries[event_id] += 1
        publishes.started(appointment)
        try:
            if event_id in publishes.lose:
                await publishes.ack_of(publishes.lose.pop(event_id)).wait()
                raise nats.errors.TimeoutError
            ack = await self.js.publish(subject, payload, **options)
            publishes.ack_of(event_id).set()
            return ack
        finally:
            publishes.running[appointment] -= 1


async def stored_ids(settings: EventSettings) -> list[str]:
    stored = await published(settings, f"{settings.prefix}.>")
    return [event.event_id for _, _, event in stored]


async def test_different_appointments_publish_together_one_appointment_in_turn(
    scratch_outbox, settings, clock
):
    engine, table = scratch_outbox
    events = fresh_events(settings.nats_url, "overlap")
    appointments = [appointment_changes(events, f"a{n}", 4) for n in range(10)]
    changes = [
        *interleaved(*appointments[:5]),
        *capacity_changes(events, 0, range(1, 5)),
        *interleaved(*appointments[5:]),
    ]
    written = await write(engine, table, changes)
    publishes = Publishes()
    relay = WatchingRelay(publishes, engine, table, events, clock)

    assert await relay.relay_or_wait() == len(written)
    await relay.close()

    assert publishes.most_at_once > 1, "every publish waited for the one before"
    assert publishes.most_of_one_appointment == 1
    assert publishes.not_alone == 0, "a slot change overlapped another publish"
    assert await stored_ids(events) == written


async def test_a_lost_event_holds_back_the_rest_of_its_appointment_only(
    scratch_outbox, settings, clock
):
    engine, table = scratch_outbox
    events = fresh_events(settings.nats_url, "lost")
    changes = interleaved(
        appointment_changes(events, "a", 3), appointment_changes(events, "b", 2)
    )
    a1, b1, a2, b2, a3 = await write(engine, table, changes)
    publishes = Publishes(lose={a2: b2})
    relay = WatchingRelay(publishes, engine, table, events, clock)

    # Bounded only so that a relay waiting on the lost event fails the test
    # instead of hanging it.
    assert await asyncio.wait_for(relay.relay_or_wait(), timeout=30) == 0
    assert await stored_ids(events) == [a1, b1, b2]
    assert await unsent(engine, table) == 2

    assert await relay.relay_or_wait() == 2
    await relay.close()

    assert await stored_ids(events) == [a1, b1, b2, a2, a3]
    assert publishes.tries == Counter({a1: 1, b1: 1, a2: 2, b2: 1, a3: 1})


# Clinic and inventory events, through the services.


def slot_request(mesh, clinic: clin.Clinic, capacity: int) -> clin.CreateSlotRequest:
    """A request like ``make_slot``'s, kept so that it can be sent again."""
    start = mesh.clock.now() + timedelta(days=2)
    return clin.CreateSlotRequest(
        parent=clinic.name,
        slot=clin.Slot(
            start_time=to_timestamp(start),
            end_time=to_timestamp(start + timedelta(minutes=30)),
            capacity=capacity,
        ),
        request_id=new_id(),
    )


async def events_of(settings: EventSettings, aggregate: str, name: str, about: str):
    """The payloads stored under one subject that mention ``about``."""
    stored = await published(settings, settings.subject(aggregate, name))
    payloads = [getattr(event, event.WhichOneof("payload")) for _, _, event in stored]
    return [payload for payload in payloads if about in str(payload)]


async def test_clinic_and_inventory_changes_reach_the_stream_under_their_subjects(
    mesh, settings
):
    events = EventSettings.from_settings(settings)
    clinic = await make_clinic(mesh, doses=1000)
    create_slot = slot_request(mesh, clinic, capacity=10)
    slot = await mesh.clinics.CreateSlot(create_slot)
    raise_to_12 = clin.UpdateSlotCapacityRequest(
        name=slot.name, capacity=12, request_id=new_id()
    )
    await mesh.clinics.UpdateSlotCapacity(raise_to_12)
    # Retries change nothing, so they write no event.
    await mesh.clinics.CreateSlot(create_slot)
    await mesh.clinics.UpdateSlotCapacity(raise_to_12)
    await mesh.clinics.UpdateSlotCapacity(
        clin.UpdateSlotCapacityRequest(name=slot.name, capacity=14, request_id=new_id())
    )
    await mesh.inventory.SetDoseStock(
        inv.SetDoseStockRequest(
            clinic=clinic.name, vaccine="comirnaty", doses=900, request_id=new_id()
        )
    )

    async def last_changes_published() -> bool:
        clinic_side = await events_of(events, "slot", "capacity_changed", slot.name)
        stock = await events_of(events, "dose_stock", "changed", clinic.name)
        return len(clinic_side) >= 2 and len(stock) >= 2

    await eventually(last_changes_published)
    [created] = await events_of(events, "clinic", "created", clinic.name)
    assert (created.region, list(created.vaccines)) == ("north", ["comirnaty"])
    [slot_created] = await events_of(events, "slot", "created", slot.name)
    assert slot_created.capacity == 10
    assert await _capacities(events, "slot", slot.name) == [(10, 12), (12, 14)]
    assert await _capacities(events, "slot_seats", slot.name) == [
        (0, 10),
        (10, 12),
        (12, 14),
    ]
    stock = await events_of(events, "dose_stock", "changed", clinic.name)
    assert [(s.old_doses, s.new_doses) for s in stock] == [(0, 1000), (1000, 900)]


async def _capacities(settings: EventSettings, aggregate: str, slot: str) -> list:
    changes = await events_of(settings, aggregate, "capacity_changed", slot)
    return [(change.old_capacity, change.new_capacity) for change in changes]
