"""From an event or an owed reminder to what the service records and what
it tells the citizen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from vaxbook.events.v1 import events_pb2

from services.common.names import APPOINTMENT, Person
from services.notification.notifier import Notice
from services.notification.store import AppointmentFacts, OwedReminder, ReminderPlan
from services.notification.templates import REMINDER, format_time, values_of

CONFIRMED = "appointment_confirmed"
# Events after which the reminder of a confirmation still stands; every other
# event about an appointment (a cancellation, an administered dose...) ends it.
# A resolved review keeps it too: an approved booking stands, and a rejected
# one is ended by the cancellation that follows.
KEEPS_REMINDER = frozenset(
    {
        "appointment_reserved",
        "appointment_review_required",
        "appointment_review_resolved",
    }
)


def appointment_of(event: events_pb2.Event) -> events_pb2.AppointmentRef | None:
    """The appointment an event is about; ``None`` for other events."""
    field = event.WhichOneof("payload")
    if field is None:
        return None
    ref = getattr(getattr(event, field), "appointment", None)
    if not isinstance(ref, events_pb2.AppointmentRef):
        return None
    if APPOINTMENT.parse(ref.appointment) is None or not Person.parse(ref.citizen):
        return None
    return ref


def facts_of(
    event: events_pb2.Event,
    ref: events_pb2.AppointmentRef,
    reminder_hours: float,
    stream_seq: int,
) -> AppointmentFacts:
    """What ``event``, number ``stream_seq`` of its stream, says about its
    appointment ``ref``."""
    field = event.WhichOneof("payload")
    occurred_at = event.occur_time.ToDatetime(tzinfo=UTC)
    slot_start = _slot_start(ref)
    reminder = None
    if field == CONFIRMED:
        remind_at = None
        if slot_start is not None:
            remind_at = slot_start - timedelta(hours=reminder_hours)
        if remind_at is not None and remind_at <= occurred_at:
            # Booked too close to the slot: the confirmation is the reminder.
            remind_at = None
        reminder = ReminderPlan(event.event_id, remind_at)
    return AppointmentFacts(
        id=APPOINTMENT.parse(ref.appointment)["appointment"],
        person=ref.citizen,
        account=Person.parse(ref.citizen).account,
        last_event=field,
        last_event_time=occurred_at,
        last_event_seq=stream_seq,
        slot=ref.slot,
        vaccine=ref.vaccine,
        dose_number=ref.dose_number,
        slot_start=slot_start,
        reminder=reminder,
        ends_reminder=field not in KEEPS_REMINDER and field != CONFIRMED,
    )


def event_notice(
    event: events_pb2.Event,
    facts: AppointmentFacts,
    template: str,
    zone: ZoneInfo,
    subject: str,
    data: bytes,
) -> Notice:
    """The notice ``template`` gives about ``event``."""
    payload = getattr(event, event.WhichOneof("payload"))
    return Notice(
        event_id=event.event_id,
        template=template,
        appointment_id=facts.id,
        person=facts.person,
        values=values_of(payload, zone),
        source_subject=subject,
        source_data=data,
    )


def reminder_notice(owed: OwedReminder, zone: ZoneInfo) -> Notice:
    """The reminder of an appointment, answering its confirmation."""
    return Notice(
        event_id=owed.event_id,
        template=REMINDER,
        appointment_id=owed.appointment_id,
        person=owed.person,
        values={
            "appointment": APPOINTMENT.format(appointment=owed.appointment_id),
            "appointment_id": owed.appointment_id,
            "citizen": owed.person,
            "slot": owed.slot,
            "vaccine": owed.vaccine,
            "dose_number": str(owed.dose_number),
            "slot_start_time": format_time(owed.slot_start, zone),
        },
    )


def _slot_start(ref: events_pb2.AppointmentRef) -> datetime | None:
    if not ref.HasField("slot_start_time"):
        return None
    return ref.slot_start_time.ToDatetime(tzinfo=UTC)
