"""What each message says, in every supported language, and which event
calls for which message.

A template is written once per language with ``string.Template`` placeholders
(``$vaccine``). Its values come from the event that called for it, flattened
by :func:`values_of`: every field of the payload and of the messages inside it
by its own name (``vaccine``, ``dose_number``, ``reasons``...), times written
in the configured zone, lists joined with commas, and ``appointment_id``. A
field of the payload itself wins over a field of the same name inside it: the
``slot_start_time`` of a rebooking offer is the offered slot's, not the
cancelled appointment's.

Telling citizens about a new kind of event is one line in ``EVENT_TEMPLATES``
and its texts in ``TEXTS``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from vaxbook.events.v1 import events_pb2

from services.common.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from services.common.names import APPOINTMENT
from services.notification.errors import TemplateError

REMINDER = "appointment_reminder"
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


@dataclass(frozen=True)
class Text:
    """One message: the e-mail subject, and the body every channel carries."""

    subject: str
    body: str


# The template answering each kind of event, by the event's payload field.
# Events not listed here are not told to anyone.
EVENT_TEMPLATES = {
    "appointment_confirmed": "appointment_confirmed",
    "appointment_cancelled": "appointment_cancelled",
    "appointment_rejected": "appointment_rejected",
    "appointment_review_required": "appointment_review_required",
    "appointment_clinic_cancelled": "appointment_clinic_cancelled",
    "rebooking_offered": "rebooking_offered",
    "rebooking_offer_closed": "rebooking_offer_lapsed",
    "appointment_review_resolved": "appointment_review_approved",
}

# Cancellations the citizen did not ask for, told apart by their reason code.
REASON_TEMPLATES = {
    ("appointment_cancelled", "REVIEW_REJECTED"): "appointment_cancelled_by_review",
    ("appointment_cancelled", "CLINIC_CANCELLED"): "appointment_cancelled_by_clinic",
    (
        "appointment_clinic_cancelled",
        "SLOT_CANCELLED",
    ): "appointment_clinic_cancelled_slot",
    (
        "appointment_clinic_cancelled",
        "DOSE_SHORTFALL",
    ): "appointment_clinic_cancelled_doses",
}

# Events told only when one field of the payload holds one value; with any
# other value nobody is told. An accepted offer is told by the confirmation of
# the new appointment and a declined one needs no message; a rejected review
# is told by the cancellation that follows it.
TOLD_ONLY_WHEN = {
    "rebooking_offer_closed": ("outcome", "LAPSED"),
    "appointment_review_resolved": ("approved", True),
}

TEXTS: dict[str, dict[str, Text]] = {
    "appointment_confirmed": {
        "en": Text(
            "Your vaccination appointment is confirmed",
            "Your appointment for dose $dose_number of $vaccine on "
            "$slot_start_time is confirmed. Show your QR code at the clinic: "
            "it comes with this e-mail and is in the portal. "
            "Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपका टीकाकरण अपॉइंटमेंट पक्का हो गया है",
            "$slot_start_time को $vaccine की खुराक $dose_number के लिए आपका "
            "अपॉइंटमेंट पक्का हो गया है। क्लिनिक पर अपना QR कोड दिखाएँ: वह इस "
            "ई-मेल के साथ और पोर्टल में है। संदर्भ: $appointment_id।",
        ),
    },
    REMINDER: {
        "en": Text(
            "Reminder: your vaccination appointment",
            "A reminder: your appointment for dose $dose_number of $vaccine is "
            "on $slot_start_time. Reference: $appointment_id.",
        ),
        "hi": Text(
            "याद दिलाना: आपका टीकाकरण अपॉइंटमेंट",
            "याद दिला दें: $vaccine की खुराक $dose_number के लिए आपका "
            "अपॉइंटमेंट $slot_start_time को है। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_cancelled": {
        "en": Text(
            "Your vaccination appointment is cancelled",
            "Your appointment for dose $dose_number of $vaccine on "
            "$slot_start_time is cancelled, as you asked. "
            "Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपका टीकाकरण अपॉइंटमेंट रद्द हो गया है",
            "आपके अनुरोध पर $slot_start_time को $vaccine की खुराक $dose_number "
            "के लिए आपका अपॉइंटमेंट रद्द कर दिया गया है। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_cancelled_by_review": {
        "en": Text(
            "Your vaccination appointment is cancelled after review",
            "After review, your appointment for dose $dose_number of $vaccine on "
            "$slot_start_time could not be kept and is cancelled. "
            "Reference: $appointment_id.",
        ),
        "hi": Text(
            "जाँच के बाद आपका टीकाकरण अपॉइंटमेंट रद्द हो गया है",
            "जाँच के बाद $slot_start_time को $vaccine की खुराक $dose_number के "
            "लिए आपका अपॉइंटमेंट रखा नहीं जा सका और रद्द कर दिया गया है। "
            "संदर्भ: $appointment_id।",
        ),
    },
    "appointment_cancelled_by_clinic": {
        "en": Text(
            "The clinic cancelled your vaccination appointment",
            "The clinic had to cancel your appointment for dose $dose_number of "
            "$vaccine on $slot_start_time. We will offer you another slot "
            "first. Reference: $appointment_id.",
        ),
        "hi": Text(
            "क्लिनिक ने आपका टीकाकरण अपॉइंटमेंट रद्द कर दिया है",
            "क्लिनिक को $slot_start_time को $vaccine की खुराक $dose_number के "
            "लिए आपका अपॉइंटमेंट रद्द करना पड़ा। हम आपको सबसे पहले दूसरा समय "
            "देंगे। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_rejected": {
        "en": Text(
            "Your vaccination booking was not accepted",
            "Your booking for dose $dose_number of $vaccine on $slot_start_time "
            "was not accepted. Reasons: $reasons. Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपकी टीकाकरण बुकिंग स्वीकार नहीं हुई",
            "$slot_start_time को $vaccine की खुराक $dose_number के लिए आपकी "
            "बुकिंग स्वीकार नहीं हुई। कारण: $reasons। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_review_required": {
        "en": Text(
            "Your vaccination booking is being reviewed",
            "Your booking for dose $dose_number of $vaccine on $slot_start_time "
            "is accepted for now and will be checked by a reviewer "
            "($reason). We will tell you the outcome. "
            "Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपकी टीकाकरण बुकिंग की जाँच हो रही है",
            "$slot_start_time को $vaccine की खुराक $dose_number के लिए आपकी "
            "बुकिंग अभी स्वीकार है और एक समीक्षक इसकी जाँच करेगा ($reason)। "
            "नतीजा हम आपको बताएँगे। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_clinic_cancelled": {
        "en": Text(
            "The clinic cancelled your vaccination appointment",
            "The clinic cancelled your appointment for dose $dose_number of "
            "$vaccine on $slot_start_time. The clinic's note: $note. If a "
            "suitable seat is free, we will hold it for you before anyone else "
            "can book it and tell you. Reference: $appointment_id.",
        ),
        "hi": Text(
            "क्लिनिक ने आपका टीकाकरण अपॉइंटमेंट रद्द कर दिया है",
            "क्लिनिक ने $slot_start_time को $vaccine की खुराक $dose_number के "
            "लिए आपका अपॉइंटमेंट रद्द कर दिया है। क्लिनिक का संदेश: $note। "
            "कोई उपयुक्त सीट खाली होने पर हम उसे किसी और के बुक करने से पहले "
            "आपके लिए रोक लेंगे और आपको बताएँगे। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_clinic_cancelled_slot": {
        "en": Text(
            "The clinic cancelled your vaccination session",
            "The clinic cancelled the session on $slot_start_time where you were "
            "booked for dose $dose_number of $vaccine, so your appointment is "
            "cancelled. The clinic's note: $note. If a suitable seat is free, "
            "we will hold it for you before anyone else can book it and tell "
            "you. Reference: $appointment_id.",
        ),
        "hi": Text(
            "क्लिनिक ने आपके टीकाकरण का सत्र रद्द कर दिया है",
            "क्लिनिक ने $slot_start_time का वह सत्र रद्द कर दिया है जिसमें "
            "$vaccine की खुराक $dose_number के लिए आपका अपॉइंटमेंट था, इसलिए "
            "आपका अपॉइंटमेंट रद्द हो गया है। क्लिनिक का संदेश: $note। कोई "
            "उपयुक्त सीट खाली होने पर हम उसे किसी और के बुक करने से पहले आपके "
            "लिए रोक लेंगे और आपको बताएँगे। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_clinic_cancelled_doses": {
        "en": Text(
            "Your vaccination appointment is cancelled: doses ran short",
            "The clinic no longer has enough doses of $vaccine, so it had to "
            "cancel your appointment for dose $dose_number on $slot_start_time. "
            "The clinic's note: $note. If a suitable seat is free, we will hold "
            "it for you before anyone else can book it and tell you. "
            "Reference: $appointment_id.",
        ),
        "hi": Text(
            "खुराकें कम पड़ने से आपका टीकाकरण अपॉइंटमेंट रद्द हो गया है",
            "क्लिनिक के पास $vaccine की खुराकें कम पड़ गई हैं, इसलिए उसे "
            "$slot_start_time को खुराक $dose_number के लिए आपका अपॉइंटमेंट रद्द "
            "करना पड़ा। क्लिनिक का संदेश: $note। कोई उपयुक्त सीट खाली होने पर "
            "हम उसे किसी और के बुक करने से पहले आपके लिए रोक लेंगे और आपको "
            "बताएँगे। संदर्भ: $appointment_id।",
        ),
    },
    "rebooking_offered": {
        "en": Text(
            "A vaccination seat is held for you",
            "We are holding a seat for you for dose $dose_number of $vaccine on "
            "$slot_start_time until $expire_time. Accept or decline it in the "
            "portal or the app before then; after that the seat goes back to "
            "the public. Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपके लिए टीकाकरण की एक सीट रोकी गई है",
            "हमने $slot_start_time को $vaccine की खुराक $dose_number के लिए "
            "आपके लिए एक सीट $expire_time तक रोक रखी है। उससे पहले पोर्टल या "
            "ऐप में इसे स्वीकार करें या मना करें; उसके बाद यह सीट सबके लिए "
            "खुल जाएगी। संदर्भ: $appointment_id।",
        ),
    },
    "rebooking_offer_lapsed": {
        "en": Text(
            "The seat held for you has gone back",
            "The seat we held for you for dose $dose_number of $vaccine was not "
            "taken in time and has gone back to the public. Please book again "
            "in the portal or the app. Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपके लिए रोकी हुई सीट अब सबके लिए खुल गई है",
            "$vaccine की खुराक $dose_number के लिए हमने आपके लिए जो सीट रोकी "
            "थी, वह समय पर स्वीकार नहीं की गई और अब सबके लिए खुल गई है। कृपया "
            "पोर्टल या ऐप में फिर से बुक करें। संदर्भ: $appointment_id।",
        ),
    },
    "appointment_review_approved": {
        "en": Text(
            "Your vaccination booking stands",
            "Your booking for dose $dose_number of $vaccine on $slot_start_time "
            "has been checked and stands. Reference: $appointment_id.",
        ),
        "hi": Text(
            "आपकी टीकाकरण बुकिंग पक्की है",
            "$slot_start_time को $vaccine की खुराक $dose_number के लिए आपकी "
            "बुकिंग की जाँच हो गई है और वह पक्की है। संदर्भ: $appointment_id।",
        ),
    },
}


def template_for(event: events_pb2.Event) -> str | None:
    """The template answering ``event``; ``None`` when nobody is told."""
    field = event.WhichOneof("payload")
    template = EVENT_TEMPLATES.get(field or "")
    if template is None:
        return None
    payload = getattr(event, field)
    condition = TOLD_ONLY_WHEN.get(field)
    if condition is not None and getattr(payload, condition[0]) != condition[1]:
        return None
    reason = getattr(payload, "reason", "")
    return REASON_TEMPLATES.get((field, reason), template)


def render(template: str, language: str, values: Mapping[str, str]) -> Text:
    """The message ``template`` gives in ``language`` (English when the
    template lacks it), with ``values`` filled in."""
    texts = TEXTS[template]
    text = texts.get(language) or texts[DEFAULT_LANGUAGE]
    try:
        return Text(
            string.Template(text.subject).substitute(values),
            string.Template(text.body).substitute(values),
        )
    except (KeyError, ValueError) as error:
        raise TemplateError(f"template {template!r} lacks the value {error}") from None


def values_of(payload: Message, zone: ZoneInfo) -> dict[str, str]:
    """Every field of ``payload``, and of the messages in it, by name."""
    values: dict[str, str] = {}
    _flatten(payload, zone, values)
    appointment = APPOINTMENT.parse(values.get("appointment", ""))
    if appointment is not None:
        values["appointment_id"] = appointment["appointment"]
    return values


def format_time(moment: datetime, zone: ZoneInfo) -> str:
    """A time as messages write it, for example ``2027-03-03 13:30 IST``."""
    return moment.astimezone(zone).strftime(TIME_FORMAT)


def _flatten(message: Message, zone: ZoneInfo, values: dict[str, str]) -> None:
    """Adds the fields of ``message`` not named yet, then those of the
    messages inside it."""
    nested = []
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is None:
            is_list = field.is_repeated
            text = ", ".join(map(str, value)) if is_list else str(value)
        elif field.message_type.full_name == Timestamp.DESCRIPTOR.full_name:
            text = _stamp(message, field.name, zone)
        else:
            if not field.is_repeated:
                nested.append(value)
            continue
        values.setdefault(field.name, text)
    for inner in nested:
        _flatten(inner, zone, values)


def _stamp(message: Message, name: str, zone: ZoneInfo) -> str:
    if not message.HasField(name):
        return ""
    return format_time(getattr(message, name).ToDatetime(tzinfo=UTC), zone)


def _check_texts() -> None:
    """Fails at start-up when an event named here is not an event or lacks
    the field it is told by, when an event's template has no texts, or when a
    template lacks a supported language."""
    payloads = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    fields = {field.name: field.message_type.fields_by_name for field in payloads}
    events = {*EVENT_TEMPLATES, *(event for event, _ in REASON_TEMPLATES)}
    unknown = events - fields.keys()
    if unknown:
        raise RuntimeError(f"templates for unknown events: {sorted(unknown)}")
    for event, (field, _) in TOLD_ONLY_WHEN.items():
        if event not in EVENT_TEMPLATES or field not in fields[event]:
            raise RuntimeError(f"{event!r} cannot be told by its field {field!r}")
    named = {*EVENT_TEMPLATES.values(), *REASON_TEMPLATES.values(), REMINDER}
    without_texts = named - TEXTS.keys()
    if without_texts:
        raise RuntimeError(f"templates without texts: {sorted(without_texts)}")
    for template, texts in TEXTS.items():
        missing = set(SUPPORTED_LANGUAGES) - texts.keys()
        if missing:
            raise RuntimeError(f"template {template!r} lacks {sorted(missing)}")


_check_texts()
