"""What an audit record says about an event: its type, and the appointment,
person, clinic and actor it concerns, found in the payload by field name.

Payloads name what they concern with the same field names (``appointment``,
``citizen``, ``clinic``, ``slot``, ``actor``), directly or inside an
``AppointmentRef``, so events added later are read without changes here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from vaxbook.events.v1 import events_pb2

from services.audit.chain import Entry
from services.common.names import CLINIC, SLOT

# The type of a payload this service's protos do not know yet.
UNKNOWN_TYPE = "unknown"
EVENT_TYPES = frozenset(
    field.name for field in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
) | {UNKNOWN_TYPE}

_CONCERNS = ("appointment", "citizen", "clinic", "actor")
# How deep into nested messages names are looked for.
_MAX_DEPTH = 2


class NotAnEvent(ValueError):
    """The message cannot be stored as an event: it does not parse as a
    ``vaxbook.events.v1.Event``, has no id, or holds what PostgreSQL cannot
    store."""


def entry_of(subject: str, data: bytes) -> Entry:
    """The entry for the serialized event ``data`` published on ``subject``."""
    try:
        event = events_pb2.Event.FromString(data)
    except DecodeError:
        raise NotAnEvent("the payload does not parse as an Event") from None
    if not event.event_id:
        raise NotAnEvent("the event has no event_id")
    event_type = event.WhichOneof("payload")
    concerns = dict.fromkeys(_CONCERNS, "")
    if event_type is not None:
        _collect(getattr(event, event_type), concerns, _MAX_DEPTH)
    if any("\x00" in text for text in (subject, event.event_id, *concerns.values())):
        # PostgreSQL text cannot hold NUL; no event of ours carries one.
        raise NotAnEvent("a name in the event holds a NUL character")
    return Entry(
        event_id=event.event_id,
        event_type=event_type or UNKNOWN_TYPE,
        subject=subject,
        occur_time=_occur_time(event),
        event=data,
        **concerns,
    )


def _occur_time(event: events_pb2.Event) -> datetime:
    try:
        return event.occur_time.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise NotAnEvent("the event's occur_time is out of range") from None


def _collect(message: Message, concerns: dict[str, str], depth: int) -> None:
    """Fills the empty ``concerns`` from the fields of ``message``; a field
    of the message itself wins over one found deeper."""
    nested = []
    for field, value in message.ListFields():
        if field.is_repeated:
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            nested.append(value)
        elif field.type == FieldDescriptor.TYPE_STRING:
            _note(field.name, value, concerns)
    if depth > 1:
        for value in nested:
            _collect(value, concerns, depth - 1)


def _note(name: str, value: str, concerns: dict[str, str]) -> None:
    if name in concerns and not concerns[name]:
        concerns[name] = value
    elif name == "slot" and not concerns["clinic"]:
        ids = SLOT.parse(value)
        if ids is not None:
            concerns["clinic"] = CLINIC.format(clinic=ids["clinic"])
