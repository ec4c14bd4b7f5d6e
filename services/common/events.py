"""Where lifecycle events go: the JetStream stream and its subjects.

Subjects are ``<prefix>.<aggregate>.<event>`` and the stream takes everything
under the prefix, so a test run with its own prefix has its own stream.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import Message
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from vaxbook.events.v1 import events_pb2

from services.common.clock import to_timestamp
from services.common.config import Settings

DUPLICATE_WINDOW_SECONDS = 120.0


@dataclass(frozen=True)
class EventSettings:
    """The NATS server and the subject prefix of this deployment."""

    nats_url: str
    prefix: str = "vaxbook"

    @classmethod
    def from_settings(cls, settings: Settings) -> EventSettings:
        return cls(settings.nats_url, settings.event_prefix)

    @property
    def stream(self) -> str:
        """The stream name: the prefix in capitals, as JetStream names go."""
        return self.prefix.upper().replace(".", "_").replace("-", "_")

    def subject(self, aggregate: str, event: str) -> str:
        return f"{self.prefix}.{aggregate}.{event}"


async def ensure_stream(js: JetStreamContext, settings: EventSettings) -> None:
    """Creates the stream if it does not exist yet."""
    config = StreamConfig(
        name=settings.stream,
        subjects=[f"{settings.prefix}.>"],
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


def new_event(
    payload_field: str, payload: Message, occurred_at: datetime, request_id: str = ""
) -> events_pb2.Event:
    """An ``Event`` envelope with a fresh id around one payload message."""
    event = events_pb2.Event(
        event_id=uuid.uuid4().hex,
        occur_time=to_timestamp(occurred_at),
        request_id=request_id,
    )
    getattr(event, payload_field).CopyFrom(payload)
    return event
