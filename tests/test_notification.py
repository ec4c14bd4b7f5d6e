"""The notification service against real PostgreSQL and NATS, a local SMTP
server and the stand-in SMS and push provider: messages in the citizen's
language, retries then delivery, dead letters with their reason, reminders
sent once by two replicas, an event delivered twice sent once, and who may
read the deliveries."""

from __future__ import annotations

import dataclasses
import email
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import grpc
import nats
import pytest
from aiosmtpd.controller import Controller
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.events.v1 import events_pb2
from vaxbook.notification.v1 import notification_pb2 as pb
from vaxbook.notification.v1 import notification_pb2_grpc

from services.common import qr
from services.common.access import token_channel
from services.common.auth import Role
from services.common.clock import FakeClock, to_timestamp
from services.common.config import Settings
from services.common.db import create_engine
from services.common.errors import read_error
from services.common.events import EventSettings, new_event
from services.common.server import RunningServer, create_server
from services.devstack import create_database, drop_database
from services.migrate import migrate
from services.notification import app as notification_app
from services.notification.config import NotificationSettings, RetryPolicy, SmtpSettings
from services.notification.consumer import DURABLE
from services.notification.jetstream import dead_letter_stream
from services.notification.notices import appointment_of
from services.notification.store import (
    AppointmentFacts,
    NotificationStore,
    ReminderPlan,
)
from services.notification.tables import appointments as notification_appointments
from services.notification.templates import (
    EVENT_TEMPLATES,
    REASON_TEMPLATES,
    REMINDER,
    TEXTS,
    format_time,
    render,
    template_for,
    values_of,
)
from services.sms_standin.app import Standin
from services.sms_standin.server import start_standin
from tests.conftest import RUN_ID
from tests.mesh import (
    Mesh,
    booker,
    make_clinic,
    make_slot,
    new_id,
    qr_keys,
    reserve_request,
    start_mesh,
)
from tests.polling import eventually
from tests.test_auth import national_id, phone

MAX_ATTEMPTS = 3
REMINDER_HOURS = 24
EMAIL = pb.CHANNEL_EMAIL
SMS = pb.CHANNEL_SMS
PUSH = pb.CHANNEL_PUSH
SENT = pb.DELIVERY_STATE_SENT
DEAD = pb.DELIVERY_STATE_DEAD
SUBJECTS = {
    ("appointment_confirmed", "en"): "Your vaccination appointment is confirmed",
    ("appointment_confirmed", "hi"): "आपका टीकाकरण अपॉइंटमेंट पक्का हो गया है",
}


# A local mail server


@dataclass
class Refusal:
    """How a recipient is refused: ``times`` more attempts, or always."""

    reply: str
    times: int = 0
    always: bool = False


@dataclass
class MailCatch:
    """An SMTP handler that keeps every message and refuses recipients to
    order. It runs on the server's own thread, hence the lock."""

    messages: list[EmailMessage] = field(default_factory=list)
    refusals: dict[str, Refusal] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, address: str, reply: str, times: int = 0) -> None:
        """Refuses ``address`` with ``reply`` the next ``times`` attempts, or
        on every attempt when ``times`` is 0."""
        with self.lock:
            self.refusals[address] = Refusal(reply, times, always=times == 0)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            refusal = self.refusals.get(address)
            if refusal is not None and (refusal.always or refusal.times > 0):
                refusal.times -= 1
                return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.original_content, policy=policy.default
        )
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mail() -> tuple[MailCatch, int]:
    catch = MailCatch()
    controller = Controller(catch, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield catch, controller.port
    controller.stop()


@pytest.fixture(scope="module")
async def provider():
    """The stand-in SMS and push provider."""
    running = await start_standin(Standin())
    yield running
    await running.stop()


# A mesh of its own, with the notification service


@dataclass
class Notifications:
    """The mesh, its notification replicas and how to reach them."""

    mesh: Mesh
    settings: Settings
    config: NotificationSettings
    replicas: list[RunningServer] = field(default_factory=list)
    channels: list = field(default_factory=list)

    @property
    def stub(self) -> notification_pb2_grpc.NotificationServiceStub:
        """A stub of the first replica whose calls carry a service token
        unless they pass their own."""
        channel = token_channel(
            f"127.0.0.1:{self.replicas[0].port}", self.mesh.service_tokens
        )
        self.channels.append(channel)
        return notification_pb2_grpc.NotificationServiceStub(channel)

    async def start_replica(self) -> int:
        """Starts one more notification replica; returns its port."""
        registrations, on_stop = await notification_app.build(
            self.settings, self.mesh.clock, self.config
        )
        running = await create_server("notification", registrations, "127.0.0.1:0")
        running.on_stop.extend(on_stop)
        self.replicas.append(running)
        return running.port

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        for running in self.replicas:
            await running.stop(grace=0)


@pytest.fixture(scope="module")
async def notifications(servers, settings, insurance, mail, provider):
    # A database, a stream and a clock of its own: reminders move the clock a
    # day on, and the service reads every event of its stream.
    name = f"vaxbook_test_{RUN_ID}_notify"
    database_url = create_database(servers.database_url, name)
    migrate(database_url)
    own = dataclasses.replace(
        settings,
        database_url=database_url,
        event_prefix=f"{settings.event_prefix}-notify",
        key_prefix=f"{settings.key_prefix}-notify",
    )
    mesh = await start_mesh(
        own, FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC)), insurance
    )
    own = dataclasses.replace(
        own,
        service_addrs={
            **own.service_addrs,
            "auth": f"127.0.0.1:{mesh.servers['auth'].port}",
        },
    )
    _, smtp_port = mail
    config = NotificationSettings(
        reminder_hours=REMINDER_HOURS,
        reminder_poll_seconds=0.1,
        retry=RetryPolicy(
            max_attempts=MAX_ATTEMPTS, base_delay_seconds=0.2, max_delay_seconds=1.0
        ),
        sms_url=provider.url,
        push_url=provider.url,
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_seconds=5.0),
    )
    running = Notifications(mesh, own, config)
    await running.start_replica()
    yield running
    await running.stop()
    await mesh.stop()
    drop_database(servers.database_url, name)


@pytest.fixture(scope="module")
async def clinic(notifications):
    return await make_clinic(notifications.mesh)


# Builders


def address() -> str:
    return f"citizen-{new_id()[:12]}@example.org"


async def citizen(
    notifications, contact: auth.Contact, language: str = "", **record
) -> str:
    """The id of a signed-up citizen with a patient record."""
    mesh = notifications.mesh
    signed_up = await mesh.auth.SignUp(
        auth.SignUpRequest(
            national_id=national_id(),
            contact=contact,
            preferred_language=language,
            request_id=new_id(),
        )
    )
    return await booker(mesh, citizen=signed_up.name.split("/")[1], **record)


async def reserve(notifications, clinic, citizen_id: str) -> appt.Appointment:
    mesh = notifications.mesh
    slot = await make_slot(mesh, clinic)
    return await mesh.appointments.ReserveAppointment(reserve_request(slot, citizen_id))


async def book(notifications, clinic, citizen_id: str) -> appt.Appointment:
    """A confirmed appointment, two days ahead."""
    reserved = await reserve(notifications, clinic, citizen_id)
    return await notifications.mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )


async def deliveries(notifications, appointment, metadata=None) -> list[pb.Delivery]:
    response = await notifications.stub.ListDeliveries(
        pb.ListDeliveriesRequest(parent=appointment.name), metadata=metadata
    )
    return list(response.deliveries)


async def settled(notifications, appointment, template: str, channel, count=1):
    """The deliveries of ``template`` over ``channel``, once ``count`` of them
    are sent or given up."""
    found: list[pb.Delivery] = []

    async def finished() -> bool:
        found[:] = [
            d
            for d in await deliveries(notifications, appointment)
            if d.template == template and d.channel == channel
        ]
        return len(found) >= count and all(d.state in (SENT, DEAD) for d in found)

    await eventually(finished)
    return found


def appointment_id(appointment) -> str:
    return appointment.name.split("/")[1]


# Messages in the citizen's language


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_a_confirmation_email_arrives_in_the_citizens_language(
    notifications, clinic, mail, language
):
    catch, _ = mail
    to = address()
    confirmed = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=to), language),
    )

    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)

    assert (delivery.state, delivery.language, delivery.attempts) == (SENT, language, 1)
    assert delivery.masked_destination == f"{to[0]}***@example.org"
    [message] = catch.to(to)
    assert message["Subject"] == SUBJECTS[("appointment_confirmed", language)]
    body = text_of(message)
    assert appointment_id(confirmed) in body
    assert "comirnaty" in body
    assert "2027-03-03 08:00 UTC" in body
    # The QR code comes as an image that scans back to the appointment's code.
    [image] = [part for part in message.iter_attachments()]
    assert image.get_content_type() == "image/png"
    [token] = qr.decode_image(image.get_content())
    assert qr.verify(token, await qr_keys(notifications.mesh)).appointment == (
        confirmed.name
    )


async def test_a_rejection_names_every_reason(notifications, clinic, mail):
    catch, _ = mail
    to = address()
    child = await citizen(
        notifications, auth.Contact(email=to), birth_date="2019-06-01"
    )

    rejected = await reserve(notifications, clinic, child)

    assert rejected.state == appt.APPOINTMENT_STATE_REJECTED
    await settled(notifications, rejected, "appointment_rejected", EMAIL)
    [message] = catch.to(to)
    assert "TOO_YOUNG" in message.get_content()


def test_every_template_fills_in_every_language():
    ref = events_pb2.AppointmentRef(
        appointment="appointments/a1",
        citizen="citizens/c1",
        slot="clinics/k/slots/s",
        vaccine="comirnaty",
        dose_number=1,
    )
    ref.slot_start_time.FromDatetime(datetime(2027, 3, 3, 8, 0, tzinfo=UTC))
    payload = events_pb2.AppointmentRejected(appointment=ref, reasons=["TOO_YOUNG"])
    values = {
        **values_of(payload, UTC),
        "reason": "INSURANCE_UNAVAILABLE",
        # What clinic cancellations and rebooking offers carry besides.
        "note": "Flooded",
        "expire_time": "2027-03-02 08:00 UTC",
    }
    templates = {*EVENT_TEMPLATES.values(), *REASON_TEMPLATES.values(), REMINDER}

    for template in templates:
        for language in TEXTS[template]:
            text = render(template, language, values)
            assert "$" not in text.subject + text.body
            assert "a1" in text.body


# Retries and dead letters


async def test_a_refused_email_is_retried_then_sent(notifications, clinic, mail):
    catch, _ = mail
    to = address()
    catch.refuse(to, "451 4.3.0 Mailbox busy, try later", times=2)

    confirmed = await book(
        notifications, clinic, await citizen(notifications, auth.Contact(email=to))
    )

    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)
    assert (delivery.state, delivery.attempts) == (SENT, 3)
    assert delivery.last_error.startswith("SMTP 451")
    assert catch.attempts[to] == 3
    assert len(catch.to(to)) == 1


async def test_an_email_refused_every_time_is_given_up_and_dead_lettered(
    notifications, clinic, mail
):
    catch, _ = mail
    to = address()
    catch.refuse(to, f"452 4.2.2 Mailbox of {to} is full")

    confirmed = await book(
        notifications, clinic, await citizen(notifications, auth.Contact(email=to))
    )

    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)
    assert (delivery.state, delivery.attempts) == (DEAD, MAX_ATTEMPTS)
    assert delivery.last_error.startswith("SMTP 452")
    assert to not in delivery.last_error
    assert catch.to(to) == []
    letter = await dead_letter(notifications, delivery)
    assert letter.headers["Vaxbook-Dead-Reason"] == delivery.last_error
    assert letter.headers["Vaxbook-Attempts"] == str(MAX_ATTEMPTS)
    event = events_pb2.Event.FromString(letter.data)
    assert event.event_id == delivery.event_id
    assert event.appointment_confirmed.appointment.appointment == confirmed.name


async def test_a_permanent_refusal_is_given_up_at_the_first_attempt(
    notifications, clinic, mail
):
    catch, _ = mail
    to = address()
    catch.refuse(to, "550 5.1.1 No such user here")

    confirmed = await book(
        notifications, clinic, await citizen(notifications, auth.Contact(email=to))
    )

    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)
    assert (delivery.state, delivery.attempts) == (DEAD, 1)
    assert delivery.last_error.startswith("SMTP 550")
    assert (await dead_letter(notifications, delivery)).headers["Vaxbook-Template"] == (
        "appointment_confirmed"
    )


async def dead_letter(notifications, delivery: pb.Delivery):
    """The message the dead-letter stream holds for ``delivery``."""
    events = EventSettings.from_settings(notifications.settings)
    delivery_id = delivery.name.rsplit("/", 1)[1]
    client = await nats.connect(events.nats_url)
    try:
        js = client.jetstream()
        consumer = await js.pull_subscribe(
            f"{events.prefix}-dead.>", stream=dead_letter_stream(events)
        )
        while True:
            for message in await consumer.fetch(100, timeout=2):
                if message.headers.get("Vaxbook-Delivery") == delivery_id:
                    return message
    finally:
        await client.close()


# SMS and push


async def test_an_sms_and_a_push_go_through_the_http_provider(
    notifications, clinic, provider
):
    contact = phone()
    number = contact.phone_number
    citizen_id = await citizen(notifications, contact, "hi")

    confirmed = await book(notifications, clinic, citizen_id)

    [sms] = await settled(notifications, confirmed, "appointment_confirmed", SMS)
    [push] = await settled(notifications, confirmed, "appointment_confirmed", PUSH)
    assert (sms.state, push.state) == (SENT, SENT)
    assert sms.masked_destination == "*" * (len(number) - 4) + number[-4:]
    [text] = provider.standin.sent_to(number)
    assert text.channel == "sms"
    assert appointment_id(confirmed) in text.body
    assert "पक्का" in text.body
    [notice] = provider.standin.sent_to(f"citizens/{citizen_id}")
    assert notice.channel == "push"


# Reminders


async def test_a_reminder_is_sent_once_when_due_by_two_replicas(
    notifications, clinic, mail
):
    catch, _ = mail
    kept_to, cancelled_to = address(), address()
    kept = await book(
        notifications, clinic, await citizen(notifications, auth.Contact(email=kept_to))
    )
    cancelled = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=cancelled_to)),
    )
    await notifications.mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=cancelled.name, request_id=new_id())
    )
    await settled(notifications, kept, "appointment_confirmed", EMAIL)
    await settled(notifications, cancelled, "appointment_cancelled", EMAIL)
    await notifications.start_replica()

    slot_start = kept.slot_start_time.ToDatetime(tzinfo=UTC)
    due = slot_start - timedelta(hours=REMINDER_HOURS)
    clock = notifications.mesh.clock
    clock.advance((due - clock.now()).total_seconds() + 60)

    [reminder] = await settled(notifications, kept, REMINDER, EMAIL)
    assert reminder.state == SENT
    reminders = [m for m in catch.to(kept_to) if m["Subject"].startswith("Reminder")]
    assert len(reminders) == 1
    assert appointment_id(kept) in reminders[0].get_content()
    # The cancelled appointment got its confirmation and cancellation (by
    # e-mail and push, in whichever order a batch handled them), no reminder.
    assert sorted(d.template for d in await deliveries(notifications, cancelled)) == [
        "appointment_cancelled",
        "appointment_cancelled",
        "appointment_confirmed",
        "appointment_confirmed",
    ]


async def test_of_two_events_at_the_same_instant_the_later_published_stands(
    notifications,
):
    # A confirmation and a cancellation stamped with the same time, handled
    # out of stream order (a batch is handled concurrently): the cancellation,
    # published later, must leave no reminder owed.
    store = NotificationStore(
        create_engine(notifications.settings.database_url, pool_size=1)
    )
    at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    confirmed = AppointmentFacts(
        id=new_id(),
        person=f"citizens/{new_id()}",
        account="",
        last_event="appointment_confirmed",
        last_event_time=at,
        last_event_seq=41,
        slot=f"clinics/{new_id()}/slots/{new_id()}",
        vaccine="comirnaty",
        dose_number=1,
        slot_start=at + timedelta(days=3),
        reminder=ReminderPlan(new_id(), at + timedelta(days=2)),
    )
    confirmed = dataclasses.replace(confirmed, account=confirmed.person)
    cancelled = dataclasses.replace(
        confirmed,
        last_event="appointment_cancelled",
        last_event_seq=42,
        reminder=None,
        ends_reminder=True,
    )
    try:
        await store.record_appointment(cancelled)
        await store.record_appointment(confirmed)
    finally:
        await store.engine.dispose()

    recorded = appt.Appointment(name=f"appointments/{confirmed.id}")
    assert await remind_at(notifications, recorded) is None


# Idempotency


async def test_an_event_delivered_twice_is_sent_once(notifications, clinic, mail):
    catch, _ = mail
    to = address()
    confirmed = await book(
        notifications, clinic, await citizen(notifications, auth.Contact(email=to))
    )
    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)
    events = EventSettings.from_settings(notifications.settings)

    client = await nats.connect(events.nats_url)
    try:
        js = client.jetstream()
        subject = events.subject("appointment", "confirmed")
        original = await _stored_event(js, events, subject, delivery.event_id)
        # A new message id: the stream keeps the copy and delivers it again.
        await js.publish(subject, original, headers={"Nats-Msg-Id": new_id()})

        async def consumer_idle() -> bool:
            info = await js.consumer_info(events.stream, DURABLE)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(consumer_idle)
    finally:
        await client.close()

    assert len(catch.to(to)) == 1
    again = await deliveries(notifications, confirmed)
    assert [(d.name, d.attempts) for d in again if d.channel == EMAIL] == [
        (delivery.name, 1)
    ]


async def _stored_event(js, events: EventSettings, subject: str, event_id: str):
    consumer = await js.pull_subscribe(subject, stream=events.stream)
    while True:
        for message in await consumer.fetch(100, timeout=2):
            if events_pb2.Event.FromString(message.data).event_id == event_id:
                return message.data


# Who may read deliveries, and contacts


async def test_only_the_owner_citizen_may_list_an_appointments_deliveries(
    notifications, clinic
):
    mesh = notifications.mesh
    owner = await citizen(notifications, auth.Contact(email=address()))
    confirmed = await book(notifications, clinic, owner)
    await settled(notifications, confirmed, "appointment_confirmed", EMAIL)

    mine = await deliveries(
        notifications, confirmed, metadata=mesh.token(f"citizens/{owner}")
    )
    assert {d.template for d in mine} == {"appointment_confirmed"}

    with pytest.raises(grpc.aio.AioRpcError) as other:
        await deliveries(
            notifications, confirmed, metadata=mesh.token(f"citizens/{new_id()}")
        )
    assert read_error(other.value).reason == "NOT_OWNER"
    with pytest.raises(grpc.aio.AioRpcError) as staff:
        await deliveries(
            notifications,
            confirmed,
            metadata=mesh.token(
                "staffAccounts/s1", Role.CLINIC_STAFF, clinics=[clinic.name]
            ),
        )
    assert read_error(staff.value).reason == "ROLE_NOT_ALLOWED"
    admin = mesh.token("staffAccounts/a1", Role.ADMIN)
    assert len(await deliveries(notifications, confirmed, metadata=admin)) == 2


async def test_an_appointment_no_event_has_reached_lists_no_deliveries_for_anyone(
    notifications,
):
    unheard_of = appt.Appointment(name=f"appointments/{new_id()}")

    for person in (f"citizens/{new_id()}", f"citizens/{new_id()}"):
        listed = await deliveries(
            notifications, unheard_of, metadata=notifications.mesh.token(person)
        )
        assert listed == []


async def test_a_dependants_notifications_go_to_their_citizen(
    notifications, clinic, mail
):
    catch, _ = mail
    mesh = notifications.mesh
    to = address()
    owner = await citizen(notifications, auth.Contact(email=to), "hi")
    dependant = await mesh.auth.AddDependant(
        auth.AddDependantRequest(
            parent=f"citizens/{owner}",
            dependant=auth.Dependant(
                display_name="Meera", relationship=auth.RELATIONSHIP_CHILD
            ),
            request_id=new_id(),
        ),
        metadata=mesh.token(f"citizens/{owner}"),
    )
    child = await booker(mesh, citizen=dependant.name.removeprefix("citizens/"))

    confirmed = await book(notifications, clinic, child)

    [delivery] = await settled(notifications, confirmed, "appointment_confirmed", EMAIL)
    assert (delivery.state, delivery.language) == (SENT, "hi")
    [message] = catch.to(to)
    assert appointment_id(confirmed) in text_of(message)
    assert await deliveries(
        notifications, confirmed, metadata=mesh.token(f"citizens/{owner}")
    )


async def test_the_contact_of_an_unknown_person_is_not_found_and_services_only(
    notifications,
):
    mesh = notifications.mesh
    owner = await citizen(notifications, auth.Contact(email=address()))

    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await mesh.auth.GetNotificationContact(
            auth.GetNotificationContactRequest(name=f"citizens/{owner}/dependants/x1")
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as citizen_call:
        await mesh.auth.GetNotificationContact(
            auth.GetNotificationContactRequest(name=f"citizens/{owner}"),
            metadata=mesh.token(f"citizens/{owner}"),
        )
    assert read_error(citizen_call.value).reason == "ROLE_NOT_ALLOWED"


async def test_sign_up_refuses_a_language_without_templates(notifications):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await notifications.mesh.auth.SignUp(
            auth.SignUpRequest(
                national_id=national_id(),
                contact=auth.Contact(email=address()),
                preferred_language="fr",
                request_id=new_id(),
            )
        )

    assert read_error(refused.value).field_violations == {
        "preferred_language": "must be one of 'en', 'hi', got 'fr'"
    }


# Clinic cancellations, rebooking offers and reviews

NOTE = "Our vaccine fridge failed overnight."
CANCELLED_SUBJECTS = {
    ("SLOT_CANCELLED", "en"): "The clinic cancelled your vaccination session",
    ("SLOT_CANCELLED", "hi"): "क्लिनिक ने आपके टीकाकरण का सत्र रद्द कर दिया है",
    ("DOSE_SHORTFALL", "en"): (
        "Your vaccination appointment is cancelled: doses ran short"
    ),
    ("DOSE_SHORTFALL", "hi"): "खुराकें कम पड़ने से आपका टीकाकरण अपॉइंटमेंट रद्द हो गया है",
}
OFFER_SUBJECTS = {
    "en": "A vaccination seat is held for you",
    "hi": "आपके लिए टीकाकरण की एक सीट रोकी गई है",
}
LAPSED_SUBJECTS = {
    "en": "The seat held for you has gone back",
    "hi": "आपके लिए रोकी हुई सीट अब सबके लिए खुल गई है",
}
APPROVED_SUBJECTS = {
    "en": "Your vaccination booking stands",
    "hi": "आपकी टीकाकरण बुकिंग पक्की है",
}


def ref_of(appointment: appt.Appointment) -> events_pb2.AppointmentRef:
    """The appointment as the appointment service's events name it."""
    return events_pb2.AppointmentRef(
        appointment=appointment.name,
        citizen=appointment.citizen,
        slot=appointment.slot,
        vaccine=appointment.vaccine,
        dose_number=appointment.dose_number,
        slot_start_time=appointment.slot_start_time,
    )


def written(notifications, stamp: Timestamp) -> str:
    """``stamp`` as the service writes times in messages."""
    zone = ZoneInfo(notifications.config.time_zone)
    return format_time(stamp.ToDatetime(tzinfo=UTC), zone)


async def publish_event(notifications, field: str, payload) -> events_pb2.Event:
    """Publishes ``payload`` on the stream as the appointment service's relay
    would: one event, its id as the message id."""
    events = EventSettings.from_settings(notifications.settings)
    event = new_event(field, payload, notifications.mesh.clock.now(), new_id())
    client = await nats.connect(events.nats_url)
    try:
        await client.jetstream().publish(
            events.subject("appointment", field.removeprefix("appointment_")),
            event.SerializeToString(),
            headers={"Nats-Msg-Id": event.event_id},
        )
    finally:
        await client.close()
    return event


async def all_handled(notifications) -> None:
    """Waits until the service has handled every event on the stream."""
    events = EventSettings.from_settings(notifications.settings)
    client = await nats.connect(events.nats_url)
    try:
        js = client.jetstream()

        async def idle() -> bool:
            info = await js.consumer_info(events.stream, DURABLE)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(idle)
    finally:
        await client.close()


def text_of(message: EmailMessage) -> str:
    """The plain text of a message, with or without attachments."""
    return message.get_body(preferencelist=("plain",)).get_content()


def mail_titled(catch: MailCatch, to: str, subject: str) -> EmailMessage:
    [message] = [m for m in catch.to(to) if m["Subject"] == subject]
    return message


def payload_field(payload) -> str:
    """The field of ``Event`` that carries ``payload``'s type."""
    [field] = [
        field.name
        for field in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
        if field.message_type is payload.DESCRIPTOR
    ]
    return field


def test_each_new_event_is_told_by_its_reason_outcome_or_approval():
    ref = events_pb2.AppointmentRef(
        appointment="appointments/a1", citizen="citizens/c1"
    )
    cancelled = events_pb2.AppointmentClinicCancelled
    closed = events_pb2.RebookingOfferClosed
    resolved = events_pb2.AppointmentReviewResolved
    cases = [
        (cancelled(appointment=ref, reason="SLOT_CANCELLED"), "_slot"),
        (cancelled(appointment=ref, reason="DOSE_SHORTFALL"), "_doses"),
        (cancelled(appointment=ref, reason="SOMETHING_NEW"), ""),
        (events_pb2.RebookingOffered(appointment=ref), "rebooking_offered"),
        (closed(appointment=ref, outcome="LAPSED"), "rebooking_offer_lapsed"),
        (closed(appointment=ref, outcome="ACCEPTED"), None),
        (closed(appointment=ref, outcome="DECLINED"), None),
        (resolved(appointment=ref, approved=True), "appointment_review_approved"),
        (resolved(appointment=ref, approved=False), None),
    ]

    for payload, template in cases:
        if payload.DESCRIPTOR is cancelled.DESCRIPTOR:
            template = f"appointment_clinic_cancelled{template}"
        event = new_event(
            payload_field(payload), payload, datetime(2027, 3, 1, tzinfo=UTC)
        )
        assert template_for(event) == template, payload
        assert appointment_of(event) == ref


def test_an_offers_own_slot_and_time_win_over_those_of_the_cancelled_appointment():
    ref = events_pb2.AppointmentRef(
        appointment="appointments/a1",
        citizen="citizens/c1",
        slot="clinics/k1/slots/old",
        slot_start_time=to_timestamp(datetime(2027, 3, 3, 8, 0, tzinfo=UTC)),
    )
    offer = events_pb2.RebookingOffered(
        appointment=ref,
        slot="clinics/k2/slots/new",
        slot_start_time=to_timestamp(datetime(2027, 3, 4, 10, 30, tzinfo=UTC)),
        expire_time=to_timestamp(datetime(2027, 3, 2, 8, 0, tzinfo=UTC)),
    )

    values = values_of(offer, ZoneInfo("Asia/Kolkata"))

    assert values["slot"] == "clinics/k2/slots/new"
    assert values["slot_start_time"] == "2027-03-04 16:00 IST"
    assert values["expire_time"] == "2027-03-02 13:30 IST"
    assert (values["appointment_id"], values["citizen"]) == ("a1", "citizens/c1")


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("reason", ["SLOT_CANCELLED", "DOSE_SHORTFALL"])
async def test_a_clinic_cancellation_tells_why_with_the_clinics_note(
    notifications, clinic, mail, language, reason
):
    catch, _ = mail
    to = address()
    booked = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=to), language),
    )

    await publish_event(
        notifications,
        "appointment_clinic_cancelled",
        events_pb2.AppointmentClinicCancelled(
            appointment=ref_of(booked), was_confirmed=True, reason=reason, note=NOTE
        ),
    )

    template = REASON_TEMPLATES[("appointment_clinic_cancelled", reason)]
    [delivery] = await settled(notifications, booked, template, EMAIL)
    assert (delivery.state, delivery.language) == (SENT, language)
    body = mail_titled(catch, to, CANCELLED_SUBJECTS[(reason, language)]).get_content()
    assert NOTE in body
    assert written(notifications, booked.slot_start_time) in body
    assert appointment_id(booked) in body


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_a_rebooking_offer_names_the_offered_time_and_when_the_hold_ends(
    notifications, clinic, mail, language
):
    catch, _ = mail
    mesh = notifications.mesh
    to = address()
    booked = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=to), language),
    )
    offered = await make_slot(mesh, clinic, days_ahead=3)
    expires = to_timestamp(mesh.clock.now() + timedelta(hours=6))

    await publish_event(
        notifications,
        "rebooking_offered",
        events_pb2.RebookingOffered(
            offer=f"{booked.name}/rebookingOffer",
            appointment=ref_of(booked),
            slot=offered.name,
            slot_start_time=offered.start_time,
            expire_time=expires,
        ),
    )

    [delivery] = await settled(notifications, booked, "rebooking_offered", EMAIL)
    assert (delivery.state, delivery.language) == (SENT, language)
    body = mail_titled(catch, to, OFFER_SUBJECTS[language]).get_content()
    offered_at = written(notifications, offered.start_time)
    booked_at = written(notifications, booked.slot_start_time)
    assert offered_at in body
    assert booked_at not in body
    assert written(notifications, expires) in body
    assert appointment_id(booked) in body
    assert ("पोर्टल या ऐप" if language == "hi" else "portal or the app") in body


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_only_a_lapsed_offer_is_told_once_it_closes(
    notifications, clinic, mail, language
):
    catch, _ = mail
    addresses = {outcome: address() for outcome in ("LAPSED", "ACCEPTED", "DECLINED")}
    booked = {
        outcome: await book(
            notifications,
            clinic,
            await citizen(notifications, auth.Contact(email=to), language),
        )
        for outcome, to in addresses.items()
    }
    for appointment in booked.values():
        await settled(notifications, appointment, "appointment_confirmed", EMAIL)

    for outcome, appointment in booked.items():
        await publish_event(
            notifications,
            "rebooking_offer_closed",
            events_pb2.RebookingOfferClosed(
                offer=f"{appointment.name}/rebookingOffer",
                appointment=ref_of(appointment),
                outcome=outcome,
                new_appointment=f"appointments/{new_id()}"
                if outcome == "ACCEPTED"
                else "",
            ),
        )

    lapsed = booked["LAPSED"]
    [delivery] = await settled(notifications, lapsed, "rebooking_offer_lapsed", EMAIL)
    assert delivery.state == SENT
    body = mail_titled(
        catch, addresses["LAPSED"], LAPSED_SUBJECTS[language]
    ).get_content()
    assert appointment_id(lapsed) in body
    await all_handled(notifications)
    for outcome in ("ACCEPTED", "DECLINED"):
        told = await deliveries(notifications, booked[outcome])
        assert {d.template for d in told} == {"appointment_confirmed"}
        assert [m["Subject"] for m in catch.to(addresses[outcome])] == [
            SUBJECTS[("appointment_confirmed", language)]
        ]


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_an_approved_review_is_told_and_keeps_the_reminder(
    notifications, clinic, mail, language
):
    catch, _ = mail
    approved_to, rejected_to = address(), address()
    approved = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=approved_to), language),
    )
    rejected = await book(
        notifications,
        clinic,
        await citizen(notifications, auth.Contact(email=rejected_to), language),
    )
    for appointment in (approved, rejected):
        await settled(notifications, appointment, "appointment_confirmed", EMAIL)

    for appointment, verdict in ((approved, True), (rejected, False)):
        await publish_event(
            notifications,
            "appointment_review_resolved",
            events_pb2.AppointmentReviewResolved(
                appointment=ref_of(appointment), approved=verdict
            ),
        )

    [delivery] = await settled(
        notifications, approved, "appointment_review_approved", EMAIL
    )
    assert (delivery.state, delivery.language) == (SENT, language)
    body = mail_titled(catch, approved_to, APPROVED_SUBJECTS[language]).get_content()
    assert written(notifications, approved.slot_start_time) in body
    assert appointment_id(approved) in body
    await all_handled(notifications)
    assert {d.template for d in await deliveries(notifications, rejected)} == {
        "appointment_confirmed"
    }
    slot_start = approved.slot_start_time.ToDatetime(tzinfo=UTC)
    reminder_due = slot_start - timedelta(hours=REMINDER_HOURS)
    assert await remind_at(notifications, approved) == reminder_due


async def remind_at(notifications, appointment) -> datetime | None:
    """When the service means to remind the citizen of ``appointment``."""
    engine = create_engine(notifications.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(
                select(notification_appointments.c.remind_at).where(
                    notification_appointments.c.id == appointment_id(appointment)
                )
            )
    finally:
        await engine.dispose()
