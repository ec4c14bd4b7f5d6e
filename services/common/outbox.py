"""The transactional outbox and its relay to JetStream.

A service writes each event into its own ``outbox`` table in the same
transaction as the change it describes, so an event exists exactly when its
change does. The relay publishes unsent rows in order with ``Nats-Msg-Id`` set
to the event id, a batch at a time with many in flight (one per appointment),
then marks them sent. While NATS is down rows simply wait.
Several relay replicas may run: a PostgreSQL advisory lock lets one publish at
a time, which also keeps the order of each appointment's events.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import datetime

import nats
from google.protobuf.message import DecodeError
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from vaxbook.events.v1 import events_pb2

from services.common.clock import Clock
from services.common.events import EventSettings, ensure_stream

log = logging.getLogger(__name__)

RELAY_BATCH = 200
PUBLISH_TIMEOUT_SECONDS = 2.0

OUTBOX_LAG = Gauge(
    "vaxbook_outbox_lag_seconds",
    "Age of the oldest event not yet published.",
    ["schema"],
)
EVENTS_PUBLISHED = Counter(
    "vaxbook_events_published_total", "Events published to JetStream.", ["schema"]
)
EVENTS_DUPLICATED = Counter(
    "vaxbook_events_duplicated_total",
    "Publishes JetStream dropped as already stored.",
    ["schema"],
)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table of the schema ``metadata`` belongs to."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Text, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True)),
        Index("outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
    )


async def write_events(
    conn: AsyncConnection,
    table: Table,
    events: list[tuple[str, events_pb2.Event]],
    now: datetime,
) -> None:
    """Adds ``(subject, event)`` pairs to the outbox inside ``conn``'s
    transaction."""
    if not events:
        return
    await conn.execute(
        table.insert(),
        [
            {
                "event_id": event.event_id,
                "subject": subject,
                "payload": event.SerializeToString(),
                "created_at": now,
            }
            for subject, event in events
        ],
    )


class OutboxRelay:
    """Publishes one schema's outbox to JetStream."""

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        settings: EventSettings,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.table = table
        self.settings = settings
        self.clock = clock
        self.schema = table.schema or "public"
        # One advisory lock per outbox table: the relay lease.
        self._lease_key = zlib.crc32(f"outbox:{self.schema}".encode())
        self._nats: nats.NATS | None = None
        # Logged once per outage, not on every pass.
        self._nats_down = False
        self._js = None

    async def relay_once(self) -> int:
        """Publishes what is unsent, in order, a batch at a time until none is
        left; returns how many went out.

        Events written while a batch is out go in the next batch at once, not
        a job interval later, and a backlog (after NATS was down) drains
        without pauses.
        """
        async with self.engine.connect() as conn:
            leased = await conn.scalar(
                select(func.pg_try_advisory_lock(self._lease_key))
            )
            if not leased:
                return 0
            try:
                sent = batch_sent = await self._publish_unsent(conn)
                while batch_sent:
                    batch_sent = await self._publish_unsent(conn)
                    sent += batch_sent
                return sent
            finally:
                await self._release_lease(conn)

    async def _release_lease(self, conn: AsyncConnection) -> None:
        if conn.invalidated:
            # The database session is gone, and the advisory lock with it.
            return
        await conn.execute(select(func.pg_advisory_unlock(self._lease_key)))
        await conn.commit()

    async def _publish_unsent(self, conn: AsyncConnection) -> int:
        """Publishes one batch; marks sent the events JetStream acknowledged,
        then raises what stopped the rest, if anything did."""
        rows = await self._unsent(conn)
        if not rows:
            return 0
        js = await self._jetstream()
        sent, failure = self._acknowledged(rows, await _send_in_order(js, rows))
        # Marked once per batch: if the relay dies before this, the next pass
        # publishes those events again and JetStream drops the copies by their
        # Nats-Msg-Id.
        if sent:
            await conn.execute(
                update(self.table)
                .where(self.table.c.id.in_(sent))
                .values(sent_at=self.clock.now())
            )
            await conn.commit()
        EVENTS_PUBLISHED.labels(self.schema).inc(len(sent))
        if failure is not None:
            raise failure
        return len(sent)

    async def _unsent(self, conn: AsyncConnection) -> list:
        rows = (
            await conn.execute(
                select(
                    self.table.c.id,
                    self.table.c.event_id,
                    self.table.c.subject,
                    self.table.c.payload,
                    self.table.c.created_at,
                )
                .where(self.table.c.sent_at.is_(None))
                .order_by(self.table.c.id)
                .limit(RELAY_BATCH)
            )
        ).all()
        await conn.commit()
        self._record_lag(rows)
        return rows

    def _acknowledged(
        self, rows: list, acks: list[asyncio.Future]
    ) -> tuple[list[int], BaseException | None]:
        """The ids of the rows JetStream acknowledged, and the error of the
        first row it did not; that row, and the rows not tried, go out on
        the next pass."""
        sent: list[int] = []
        failure: BaseException | None = None
        for row, ack in zip(rows, acks, strict=False):
            outcome = _outcome(ack)
            if isinstance(outcome, BaseException):
                failure = failure or outcome
                continue
            if outcome.duplicate:
                EVENTS_DUPLICATED.labels(self.schema).inc()
            sent.append(row.id)
        return sent, failure

    def _record_lag(self, rows) -> None:
        oldest = rows[0].created_at if rows else None
        lag = (self.clock.now() - oldest).total_seconds() if oldest else 0.0
        OUTBOX_LAG.labels(self.schema).set(max(0.0, lag))

    async def _jetstream(self):
        if self._nats is None or not self._nats.is_connected:
            await self.close()
            # One attempt and no background reconnects: a relay pass that
            # cannot reach NATS gives up, and the next pass tries again.
            self._nats = await nats.connect(
                self.settings.nats_url,
                connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                max_reconnect_attempts=1,
                allow_reconnect=False,
                error_cb=_quiet,
            )
            self._js = self._nats.jetstream()
            await ensure_stream(self._js, self.settings)
        return self._js

    async def relay_or_wait(self) -> int:
        """One relay pass for a periodic job: NATS being down is expected
        trouble, logged, and the events wait for the next pass."""
        try:
            sent = await self.relay_once()
        except (NatsError, OSError, TimeoutError) as error:
            if not self._nats_down:
                log.warning(
                    "events wait in the outbox: NATS unavailable (%s)",
                    type(error).__name__,
                )
            self._nats_down = True
            await self.close()
            return 0
        if self._nats_down:
            log.warning("NATS is back; publishing the waiting events")
            self._nats_down = False
        return sent

    async def close(self) -> None:
        if self._nats is not None:
            try:
                await self._nats.close()
            except (NatsError, OSError):
                log.debug("closing a broken NATS connection failed")
            self._nats = None
            self._js = None


async def _send_in_order(js: JetStreamContext, rows: list) -> list[asyncio.Future]:
    """Publishes the rows in their order, many in flight at once, and stops
    sending at the first failure it sees; returns one settled future per row
    sent.

    Waiting for each acknowledgement before the next publish would cost a
    turn of the event loop per event, and under booking load a turn takes
    tens of milliseconds. The messages still leave in row order, so JetStream
    stores them in that order while nothing fails. What a failure could break is the
    order of one appointment: a later event stored while an earlier one is
    lost would land before it once that one is sent again. So an event waits
    for the acknowledgement of the previous event of its appointment, and an
    event about no appointment goes out alone; whatever fails, what the
    stream holds of each appointment is then a leading run of its events.
    """
    sending = _Sending(js)
    try:
        await sending.send_in_order(rows)
    except asyncio.CancelledError:
        # A relay being stopped leaves no publish running behind it.
        for ack in sending.acks:
            ack.cancel()
        raise
    return sending.acks


class _Sending:
    """The publishes of one batch: each a task, started in row order."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.acks: list[asyncio.Future] = []
        # Per appointment, its last event sent.
        self.latest: dict[str, asyncio.Future] = {}
        self.failed = False

    async def send_in_order(self, rows: list) -> None:
        for row in rows:
            appointment = _appointment_of(row.payload)
            if appointment is None:
                if not await self.after(self.in_flight()):
                    break
                if not await self.after([self.send(row)]):
                    break
            else:
                earlier = self.latest.get(appointment)
                if not await self.after([earlier] if earlier else []):
                    break
                self.latest[appointment] = self.send(row)
        if self.acks:
            await asyncio.wait(self.acks)

    def send(self, row) -> asyncio.Future:
        # A task's first step queues its message on the connection, and
        # tasks start in the order they are created, so messages leave in row
        # order. (The connection's reply subscription, which nats-py sets up
        # with an await on a connection's first request, already exists:
        # ensure_stream made a request.)
        ack = asyncio.create_task(
            self.js.publish(
                row.subject,
                row.payload,
                timeout=PUBLISH_TIMEOUT_SECONDS,
                headers={"Nats-Msg-Id": row.event_id},
            )
        )
        ack.add_done_callback(self._settled)
        self.acks.append(ack)
        return ack

    def in_flight(self) -> list[asyncio.Future]:
        return [ack for ack in self.acks if not ack.done()]

    async def after(self, acks: list[asyncio.Future]) -> bool:
        """Waits for ``acks``; false once any publish of the batch failed."""
        if acks:
            await asyncio.wait(acks)
        return not self.failed

    def _settled(self, ack: asyncio.Future) -> None:
        if ack.cancelled() or ack.exception() is not None:
            self.failed = True


def _appointment_of(payload: bytes) -> str | None:
    """The appointment an event is about, or ``None`` when it names none.

    Lifecycle events carry an ``AppointmentRef``; a view of personal data
    names the appointment it showed, if any.
    """
    try:
        event = events_pb2.Event.FromString(payload)
    except DecodeError:
        return None
    kind = event.WhichOneof("payload")
    if kind is None:
        return None
    for field, value in getattr(event, kind).ListFields():
        if field.message_type is events_pb2.AppointmentRef.DESCRIPTOR:
            return value.appointment
        if field.name == "appointment" and value:
            return value
    return None


def _outcome(ack: asyncio.Future) -> PubAck | BaseException:
    """A tried event's acknowledgement, or why there is none."""
    if ack.cancelled():
        return asyncio.CancelledError()
    return ack.exception() or ack.result()


async def _quiet(error: Exception) -> None:
    """Connection errors surface from the failed call; no traceback twice."""
    log.debug("NATS client error: %s", type(error).__name__)
