"""The durable JetStream pull consumer that turns lifecycle events into
notices.

Replicas share the durable consumer ``notification``, so each event goes to
one of them at a time. An event is acknowledged once everything it calls for
is sent or given up; while a delivery still has attempts left the event is
handed back with ``nak(delay=...)``, the wait growing with each failure. When
the auth service cannot say where to send, the event waits the same way
without using up any delivery's attempts. A message that is not an event at
all goes straight to the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from zoneinfo import ZoneInfo

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from vaxbook.events.v1 import events_pb2

from services.common import logs
from services.common.errors import DomainError
from services.common.events import EventSettings
from services.notification.config import NotificationSettings
from services.notification.jetstream import JetStreamLink
from services.notification.notices import appointment_of, event_notice, facts_of
from services.notification.notifier import Notifier, Outcome
from services.notification.store import NotificationStore
from services.notification.templates import template_for

log = logging.getLogger(__name__)

DURABLE = "notification"
FETCH_BATCH = 32
FETCH_WAIT_SECONDS = 1.0
# Longer than the slowest attempt of every channel of one event together.
ACK_WAIT_SECONDS = 60.0
RECONNECT_WAIT_SECONDS = 2.0
STOP_GRACE_SECONDS = 5.0


class EventConsumer:
    def __init__(
        self,
        link: JetStreamLink,
        store: NotificationStore,
        notifier: Notifier,
        settings: NotificationSettings,
    ) -> None:
        self.link = link
        self.events: EventSettings = link.settings
        self.store = store
        self.notifier = notifier
        self.settings = settings
        self.zone = ZoneInfo(settings.time_zone)
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-consumer")

    async def stop(self) -> None:
        """Lets the events in hand finish, for a grace period, then stops."""
        self._stopping = True
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Pulls events until stopped, connecting again whenever NATS is
        lost; an outage is logged once."""
        outage = False
        while not self._stopping:
            try:
                subscription = await self._subscribe()
                if outage:
                    log.warning("NATS is back; consuming events again")
                    outage = False
                await self._pull(subscription)
            except (NatsError, OSError, TimeoutError) as error:
                if not outage:
                    log.warning(
                        "events wait on the stream: NATS unavailable (%s)",
                        type(error).__name__,
                    )
                outage = True
                await self.link.close()
                await asyncio.sleep(RECONNECT_WAIT_SECONDS)

    async def _subscribe(self):
        js = await self.link.context()
        return await js.pull_subscribe(
            f"{self.events.prefix}.>",
            durable=DURABLE,
            stream=self.events.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_SECONDS,
                # Attempts are counted per delivery, not per message.
                max_deliver=-1,
            ),
        )

    async def _pull(self, subscription) -> None:
        while not self._stopping:
            try:
                messages = await subscription.fetch(
                    FETCH_BATCH, timeout=FETCH_WAIT_SECONDS
                )
            except TimeoutError:
                # Nothing arrived in the wait (nats-py raises a subclass).
                continue
            await asyncio.gather(*(self.handle(message) for message in messages))

    async def handle(self, message: Msg) -> None:
        """Handles one message, then acknowledges it or hands it back."""
        event = events_pb2.Event()
        try:
            event.ParseFromString(message.data)
        except DecodeError:
            log.error("unreadable message on %s dead-lettered", message.subject)
            await self.notifier.dead_letters.publish_unreadable(
                message.subject, message.data
            )
            await message.ack()
            return
        token = logs.new_context(event_id=event.event_id)
        try:
            outcome = await self._handle_event(event, message)
        except DomainError as error:
            log.warning("event handed back: %s", error.reason)
            outcome = Outcome(self._wait(message))
        except Exception:
            # Whatever went wrong (the database, say), the event comes back.
            log.exception("event handed back after an unexpected failure")
            outcome = Outcome(self._wait(message))
        finally:
            logs.reset(token)
        if outcome.retry_after_seconds is None:
            await message.ack()
        else:
            await message.nak(delay=outcome.retry_after_seconds)

    async def _handle_event(self, event: events_pb2.Event, message: Msg) -> Outcome:
        """Records what the event says of its appointment and tells the
        citizen what its template says, if it has one."""
        ref = appointment_of(event)
        if ref is None:
            return Outcome()
        facts = facts_of(
            event,
            ref,
            self.settings.reminder_hours,
            message.metadata.sequence.stream,
        )
        logs.bind(appointment_id=facts.id)
        await self.store.record_appointment(facts)
        template = template_for(event)
        if template is None:
            return Outcome()
        notice = event_notice(
            event, facts, template, self.zone, message.subject, message.data
        )
        return await self.notifier.notify(notice)

    def _wait(self, message: Msg) -> float:
        """The wait before a message handed back for the n-th time returns."""
        return self.settings.retry.delay_seconds(message.metadata.num_delivered)
