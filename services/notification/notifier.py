"""Telling a person one thing over every channel they have: a delivery per
channel, each sent at most once, retried with growing waits, and given up to
the dead-letter stream after the last attempt.

A delivery is recorded before its first attempt and is unique per event,
template and channel, so a notice handled twice (an event delivered again, a
reminder pass retried) sends nothing twice. Each attempt first claims its
delivery with a guarded update, so two replicas never send one delivery at
the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from services.common.clock import Clock
from services.notification.config import RetryPolicy
from services.notification.contacts import Contacts, Recipient
from services.notification.errors import DeliveryFailed
from services.notification.jetstream import DeadLetters
from services.notification.providers import Channel, Outgoing, Provider
from services.notification.store import (
    DeliveryRow,
    DeliveryState,
    NewDelivery,
    NotificationStore,
)
from services.notification.templates import render

log = logging.getLogger(__name__)

# How long one attempt may hold its delivery before another may try.
CLAIM_SECONDS = 120.0


@dataclass(frozen=True)
class Notice:
    """One thing to tell the person an appointment is for.

    ``source_subject`` and ``source_data`` are the event that called for it,
    kept for the dead-letter stream; empty for a reminder.
    """

    event_id: str
    template: str
    appointment_id: str
    person: str
    values: Mapping[str, str]
    source_subject: str = ""
    source_data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Outcome:
    """What is left of a notice: ``retry_after_seconds`` is the wait before
    the next attempt, ``None`` when every delivery is sent or given up."""

    retry_after_seconds: float | None = None


class Notifier:
    def __init__(
        self,
        store: NotificationStore,
        contacts: Contacts,
        providers: Mapping[Channel, Provider],
        dead_letters: DeadLetters,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        self.store = store
        self.contacts = contacts
        self.providers = providers
        self.dead_letters = dead_letters
        self.retry = retry
        self.clock = clock

    async def notify(self, notice: Notice) -> Outcome:
        """Attempts every unfinished delivery of ``notice``. Raises
        ``Unavailable`` when the auth service cannot say where to send."""
        recipient = await self.contacts.find(notice.person)
        if recipient is None:
            return Outcome()
        rows = await self.store.open_deliveries(
            _deliveries(notice, recipient, self._channels(recipient)),
            self.clock.now(),
        )
        waits = [await self._attempt(row, notice, recipient) for row in rows]
        pending = [wait for wait in waits if wait is not None]
        return Outcome(max(pending) if pending else None)

    def _channels(self, recipient: Recipient) -> list[Channel]:
        """The recipient's own channel, and push when a provider is set."""
        channels = [recipient.channel]
        if Channel.PUSH in self.providers:
            channels.append(Channel.PUSH)
        return channels

    async def _attempt(
        self, row: DeliveryRow, notice: Notice, recipient: Recipient
    ) -> float | None:
        """Sends one delivery unless it is finished; the wait before its next
        attempt, ``None`` when none is needed."""
        if row.state == DeliveryState.DEAD and row.dead_letter_time is None:
            await self._dead_letter(row, notice)
        if row.state in (DeliveryState.SENT, DeliveryState.DEAD):
            return None
        now = self.clock.now()
        claimed = await self.store.claim(
            row.id, now, now + timedelta(seconds=CLAIM_SECONDS)
        )
        if claimed is None:
            # Another attempt holds it; look again once it may be over.
            return self.retry.base_delay_seconds
        channel = Channel(row.channel)
        try:
            text = render(notice.template, row.language, notice.values)
            await self.providers[channel].send(
                Outgoing(
                    channel,
                    recipient.destination(channel),
                    text.subject,
                    text.body,
                    row.id,
                    qr_token=notice.values.get("qr_token", ""),
                )
            )
        except DeliveryFailed as failure:
            return await self._failed(claimed, notice, failure)
        await self.store.record_sent(row.id, self.clock.now())
        log.info("delivery sent", extra={"fields": _fields(claimed)})
        return None

    async def _failed(
        self, row: DeliveryRow, notice: Notice, failure: DeliveryFailed
    ) -> float | None:
        attempts = row.attempts + 1
        dead = failure.permanent or attempts >= self.retry.max_attempts
        state = DeliveryState.DEAD if dead else DeliveryState.FAILED
        failed = await self.store.record_failure(
            row.id, failure.reason, state, self.clock.now()
        )
        fields = {**_fields(failed), "reason": failure.reason}
        if not dead:
            log.warning("delivery failed; retrying", extra={"fields": fields})
            return self.retry.delay_seconds(attempts)
        log.error("delivery given up", extra={"fields": fields})
        await self._dead_letter(failed, notice)
        return None

    async def _dead_letter(self, row: DeliveryRow, notice: Notice) -> None:
        await self.dead_letters.publish(row, notice.source_subject, notice.source_data)
        await self.store.record_dead_lettered(row.id, self.clock.now())


def _deliveries(
    notice: Notice, recipient: Recipient, channels: list[Channel]
) -> list[NewDelivery]:
    return [
        NewDelivery(
            appointment_id=notice.appointment_id,
            event_id=notice.event_id,
            template=notice.template,
            channel=channel.value,
            language=recipient.language,
            masked_destination=recipient.masked_destination(channel),
        )
        for channel in channels
    ]


def _fields(row: DeliveryRow) -> dict[str, object]:
    """Log fields of a delivery: ids and the masked destination only."""
    return {
        "appointment_id": row.appointment_id,
        "event_id": row.event_id,
        "delivery": row.id,
        "template": row.template,
        "channel": row.channel,
        "to": row.masked_destination,
        "attempts": row.attempts,
    }
