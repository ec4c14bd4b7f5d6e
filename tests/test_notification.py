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

import grpc
import nats
import pytest
from aiosmtpd.controller import Controller
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.events.v1 import events_pb2
from vaxbook.notification.v1 import notification_pb2 as pb
from vaxbook.notification.v1 import notification_pb2_grpc

from services.common.access import token_channel
from services.common.auth import Role
from services.common.clock import FakeClock
from services.common.config import Settings
from services.common.errors import read_error
from services.common.events import EventSettings
from services.common.server import RunningServer, create_server
from services.devstack import create_database, drop_database
from services.migrate import migrate
from services.notification import app as notification_app
from services.notification.config import NotificationSettings, RetryPolicy, SmtpSettings
from services.notification.consumer import DURABLE
from services.notification.jetstream import dead_letter_stream
from services.notification.templates import (
    EVENT_TEMPLATES,
    REASON_TEMPLATES,
    REMINDER,
    TEXTS,
    render,
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
    body = message.get_content()
    assert appointment_id(confirmed) in body
    assert "comirnaty" in body
    assert "2027-03-03 08:00 UTC" in body


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
    values = {**values_of(payload, UTC), "reason": "INSURANCE_UNAVAILABLE"}
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
    assert [d.template for d in await deliveries(notifications, cancelled)] == [
        "appointment_confirmed",
        "appointment_confirmed",
        "appointment_cancelled",
        "appointment_cancelled",
    ]


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
    assert appointment_id(confirmed) in message.get_content()
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
