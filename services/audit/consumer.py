"""The audit trail's durable JetStream pull consumer.

Each pass fetches a batch while holding the chain lock and stores it before
letting go, so replicas take turns. The chain follows the stream's order: the
audit database keeps the sequence of the last stream message it dealt with,
a batch is filed in sequence order, and messages missing from a batch (a
delivery lost when NATS went down, which JetStream would only send again
after the ack wait) are read from the stream by sequence and filed in their
place. Messages are acknowledged once their records are committed; a
redelivered event finds its record already there and is stored once. A batch
that cannot be stored is handed back with ``nak(delay=...)``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from services.audit.chain import Entry
from services.audit.entries import NotAnEvent, entry_of
from services.audit.store import AuditStore, ChainTail
from services.common.clock import Clock
from services.common.events import EventSettings, ensure_stream

log = logging.getLogger(__name__)

# The consumer's name on the stream; every replica shares it.
DURABLE_NAME = "audit"
FETCH_BATCH = 200
# How long one pass waits for events when there are none.
FETCH_TIMEOUT_SECONDS = 1.0
# An unacknowledged delivery is redelivered after this long.
ACK_WAIT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 2.0
# Waits after a failure double from the first to the last.
RETRY_FIRST_SECONDS = 0.25
RETRY_MAX_SECONDS = 5.0

RECORDS_ADDED = Counter(
    "vaxbook_audit_records_added_total", "Events added to the audit chain."
)
DUPLICATES_SKIPPED = Counter(
    "vaxbook_audit_duplicates_skipped_total",
    "Deliveries of events the audit chain already held.",
)
NOT_EVENTS = Counter(
    "vaxbook_audit_not_events_total",
    "Messages on the stream that are not events, terminated unstored.",
)
GAPS_FILLED = Counter(
    "vaxbook_audit_gap_messages_read_total",
    "Stream messages missing from a delivered batch, read from the stream.",
)

# Trouble that passes: the consumer waits and tries again.
_PASSING_TROUBLE = (NatsError, OSError, TimeoutError, SQLAlchemyError)


def consumer_config(settings: EventSettings) -> ConsumerConfig:
    """Every event on the stream from its start, each acknowledged
    explicitly and never given up on."""
    return ConsumerConfig(
        durable_name=DURABLE_NAME,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_deliver=-1,
        filter_subject=f"{settings.prefix}.>",
    )


class AuditConsumer:
    """Stores every event of the stream in the audit chain."""

    def __init__(self, store: AuditStore, settings: EventSettings, clock: Clock):
        self.store = store
        self.settings = settings
        self.clock = clock
        self._nats: nats.NATS | None = None
        self._subscription = None
        # Failed passes in a row; logged once per outage.
        self._failures = 0

    async def consume_or_wait(self) -> int:
        """One pass for a periodic job: an unreachable NATS or database is
        logged once, then waited out with a growing delay."""
        try:
            added = await self.consume_once()
        except _PASSING_TROUBLE as error:
            if not self._failures:
                log.warning(
                    "audit consumer waiting: %s unavailable (%s)",
                    "the database" if isinstance(error, SQLAlchemyError) else "NATS",
                    type(error).__name__,
                )
        except Exception:
            # Waited out like passing trouble, so a fault cannot spin the loop.
            log.exception("audit consumer pass failed; retrying")
        else:
            if self._failures:
                log.warning(
                    "audit consumer resumed after %d failed passes", self._failures
                )
                self._failures = 0
            return added
        await self._wait_out()
        return 0

    async def consume_once(self) -> int:
        """Fetches one batch and stores it; returns how many records were
        added."""
        subscription = await self._subscribe()
        fetched: list[Msg] = []
        try:
            async with self.store.chain_tail() as tail:
                fetched = await _fetch(subscription)
                in_order = await self._in_stream_order(tail, fetched)
                entries, not_events = _read(in_order)
                added = await tail.append(entries, self.clock.now())
                if in_order:
                    await tail.advance(self.settings.stream, in_order[-1].seq)
        except SQLAlchemyError:
            await _hand_back(fetched, self._retry_delay())
            raise
        terminated = {id(message) for message in not_events}
        for message in fetched:
            if id(message) in terminated:
                await message.term()
            else:
                await message.ack()
        RECORDS_ADDED.inc(added)
        DUPLICATES_SKIPPED.inc(len(entries) - added)
        return added

    async def _in_stream_order(
        self, tail: ChainTail, fetched: list[Msg]
    ) -> list[StreamMessage]:
        """The messages after the chain's stream position, in sequence order,
        with those missing from ``fetched`` read from the stream."""
        if not fetched:
            return []
        fetched = sorted(fetched, key=_seq)
        last = await tail.stream_position(self.settings.stream)
        if last is None:
            # A chain filed before positions were kept starts from here.
            last = _seq(fetched[0]) - 1
        in_order = []
        for message in fetched:
            seq = _seq(message)
            if seq <= last:
                continue
            if seq > last + 1:
                in_order += await self._read_from_stream(last + 1, seq)
            in_order.append(StreamMessage(seq, message.subject, message.data, message))
            last = seq
        return in_order

    async def _read_from_stream(self, first: int, stop: int) -> list[StreamMessage]:
        """Messages ``first`` to ``stop - 1`` read from the stream itself;
        those the stream no longer holds are skipped with a warning."""
        js = self._nats.jetstream()
        stream = self.settings.stream
        held_from = (await js.stream_info(stream)).state.first_seq
        if held_from > first:
            log.warning(
                "stream messages %d to %d are gone from %s; not audited",
                first,
                min(held_from, stop) - 1,
                stream,
            )
        found = []
        for seq in range(max(first, held_from), stop):
            try:
                raw = await js.get_msg(stream, seq)
            except NotFoundError:
                log.warning("stream message %d is gone; not audited", seq)
                continue
            found.append(StreamMessage(seq, raw.subject, raw.data, None))
        GAPS_FILLED.inc(len(found))
        return found

    async def close(self) -> None:
        if self._nats is not None:
            try:
                await self._nats.close()
            except (NatsError, OSError):
                log.debug("closing a broken NATS connection failed")
        self._nats = None
        self._subscription = None

    async def _subscribe(self):
        """The pull subscription, connecting first when there is none."""
        if self._subscription is not None and self._nats.is_connected:
            return self._subscription
        await self.close()
        # One attempt and no background reconnects: a pass that cannot
        # reach NATS gives up, and a later pass connects again.
        self._nats = await nats.connect(
            self.settings.nats_url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            max_reconnect_attempts=1,
            allow_reconnect=False,
            error_cb=_quiet,
        )
        js = self._nats.jetstream()
        await ensure_stream(js, self.settings)
        self._subscription = await js.pull_subscribe(
            f"{self.settings.prefix}.>",
            durable=DURABLE_NAME,
            stream=self.settings.stream,
            config=consumer_config(self.settings),
        )
        return self._subscription

    async def _wait_out(self) -> None:
        """Drops the connection and waits longer after each failed pass."""
        delay = self._retry_delay()
        self._failures += 1
        await self.close()
        await asyncio.sleep(delay)

    def _retry_delay(self) -> float:
        """The wait after the current failure."""
        return min(RETRY_FIRST_SECONDS * 2**self._failures, RETRY_MAX_SECONDS)


async def _fetch(subscription) -> list[Msg]:
    """The next batch; empty when no event came within the fetch timeout."""
    try:
        return await subscription.fetch(FETCH_BATCH, timeout=FETCH_TIMEOUT_SECONDS)
    except TimeoutError:  # nats raises its own subclass, or the plain one
        return []


@dataclass(frozen=True)
class StreamMessage:
    """A message of the stream: delivered (``delivered`` set) or read from
    the stream by its sequence."""

    seq: int
    subject: str
    data: bytes
    delivered: Msg | None


def _seq(message: Msg) -> int:
    return message.metadata.sequence.stream


def _read(messages: list[StreamMessage]) -> tuple[list[Entry], list[Msg]]:
    """The entries of the messages that are events, and the delivered
    messages that are not, to be terminated so they are not delivered again."""
    entries, not_events = [], []
    for message in messages:
        try:
            entries.append(entry_of(message.subject, message.data))
        except NotAnEvent as problem:
            NOT_EVENTS.inc()
            log.error(
                "stream message %d on %s is not storable: %s; set aside",
                message.seq,
                message.subject,
                problem,
            )
            if message.delivered is not None:
                not_events.append(message.delivered)
    return entries, not_events


async def _hand_back(messages: list[Msg], delay_seconds: float) -> None:
    """Asks JetStream to deliver the messages again after the delay. When
    NATS cannot take the request either, they come back after the ack wait."""
    try:
        for message in messages:
            await message.nak(delay=delay_seconds)
    except (NatsError, OSError):
        log.debug("handing back a batch failed; it returns after the ack wait")


async def _quiet(error: Exception) -> None:
    """Connection errors surface from the failed call; no traceback twice."""
    log.debug("NATS client error: %s", type(error).__name__)
