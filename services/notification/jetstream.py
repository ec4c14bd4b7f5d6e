"""The service's side of NATS: one connection, made on first use and again
after it breaks, and the dead-letter stream for what could not be delivered.

Dead letters go to their own stream, ``<STREAM>_DEAD_LETTERS``, under
``<prefix>-dead.notification.<template>``: outside the event stream's
subjects, so consumers of events never see them. Each carries the original
event (empty for a reminder, which has no event of its own) and headers naming
the delivery and why it was given up.
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from services.common.events import EventSettings, ensure_stream
from services.notification.store import DeliveryRow

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 2.0
PUBLISH_TIMEOUT_SECONDS = 2.0
# Long enough that a dead letter published again after a crash is dropped.
DEAD_LETTER_DUPLICATE_WINDOW_SECONDS = 3600.0


class JetStreamLink:
    """A JetStream context that reconnects when its connection is gone.

    It does not reconnect in the background: a call made while NATS is down
    fails, and the next one tries again.
    """

    def __init__(self, settings: EventSettings) -> None:
        self.settings = settings
        self._client: nats.NATS | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    async def context(self) -> JetStreamContext:
        async with self._lock:
            if self._client is None or not self._client.is_connected:
                await self._connect()
            assert self._js is not None
            return self._js

    async def _connect(self) -> None:
        await self.close()
        client = await nats.connect(
            self.settings.nats_url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            allow_reconnect=False,
            error_cb=_quiet,
        )
        js = client.jetstream()
        await ensure_stream(js, self.settings)
        await _ensure_dead_letter_stream(js, self.settings)
        self._client, self._js = client, js

    async def close(self) -> None:
        if self._client is not None:
            try:
                await self._client.close()
            except (NatsError, OSError):
                log.debug("closing a broken NATS connection failed")
            self._client, self._js = None, None


def dead_letter_stream(settings: EventSettings) -> str:
    return f"{settings.stream}_DEAD_LETTERS"


def dead_letter_subject(settings: EventSettings, template: str) -> str:
    return f"{settings.prefix}-dead.notification.{template}"


async def _ensure_dead_letter_stream(
    js: JetStreamContext, settings: EventSettings
) -> None:
    config = StreamConfig(
        name=dead_letter_stream(settings),
        subjects=[f"{settings.prefix}-dead.>"],
        duplicate_window=DEAD_LETTER_DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


class DeadLetters:
    """Publishes given-up deliveries with their reason."""

    def __init__(self, link: JetStreamLink) -> None:
        self.link = link

    async def publish(self, row: DeliveryRow, source_subject: str, data: bytes) -> None:
        """Publishes one dead delivery; publishing it again is dropped by
        its ``Nats-Msg-Id``."""
        js = await self.link.context()
        await js.publish(
            dead_letter_subject(self.link.settings, row.template),
            data,
            timeout=PUBLISH_TIMEOUT_SECONDS,
            headers={
                "Nats-Msg-Id": f"notification-dead-{row.id}",
                "Vaxbook-Dead-Reason": row.last_error,
                "Vaxbook-Delivery": row.id,
                "Vaxbook-Appointment": row.appointment_id,
                "Vaxbook-Event-Id": row.event_id,
                "Vaxbook-Template": row.template,
                "Vaxbook-Channel": row.channel,
                "Vaxbook-Attempts": str(row.attempts),
                "Vaxbook-Source-Subject": source_subject,
            },
        )

    async def publish_unreadable(self, subject: str, data: bytes) -> None:
        """Publishes a message that is not an event at all."""
        js = await self.link.context()
        await js.publish(
            dead_letter_subject(self.link.settings, "unreadable"),
            data,
            timeout=PUBLISH_TIMEOUT_SECONDS,
            headers={
                "Vaxbook-Dead-Reason": "not a vaxbook.events.v1.Event",
                "Vaxbook-Source-Subject": subject,
            },
        )


async def _quiet(error: Exception) -> None:
    """Connection errors surface from the failed call; no traceback twice."""
    log.debug("NATS client error: %s", type(error).__name__)
