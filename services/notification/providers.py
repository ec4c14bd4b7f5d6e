"""Handing messages over: e-mail to an SMTP server, SMS and push to an HTTP
provider.

Every provider takes an :class:`Outgoing` message and either returns (the
message was accepted) or raises :class:`DeliveryFailed` with a reason that
names no full address. The HTTP interface is one call::

    POST {url}/v1/messages
    {"channel": "sms" | "push", "to": "...", "body": "...", "reference": "..."}

answered 2xx when accepted. ``reference`` is the delivery's id, so a provider
can drop a message it has already taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol

import aiosmtplib
import httpx

from services.common import qr
from services.notification.config import NotificationSettings, SmtpSettings
from services.notification.errors import DeliveryFailed

# How much of a provider's answer a failure reason quotes.
MAX_QUOTED_LENGTH = 200
MESSAGE_ID_DOMAIN = "vaxbook.example"
QR_FILE_NAME = "vaxbook-qr-code.png"
# HTTP answers that say "not now" rather than "never".
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PHONE = re.compile(r"\+?\d[\d -]{4,}(\d{4})")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class Channel(StrEnum):
    """How a message travels."""

    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"


@dataclass(frozen=True)
class Outgoing:
    """One message to one destination: an e-mail address, a phone number in
    E.164 form, or for push the citizen account the devices belong to."""

    channel: Channel
    to: str = field(repr=False)
    subject: str
    body: str
    reference: str
    # A signed appointment QR code, sent as an image where the channel can.
    qr_token: str = field(default="", repr=False)


class Provider(Protocol):
    async def send(self, outgoing: Outgoing) -> None:
        """Hands ``outgoing`` over; raises :class:`DeliveryFailed` if it is
        not accepted."""
        ...


class SmtpMailer:
    """Sends e-mail through one SMTP server, a connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                _email(outgoing, settings.sender),
                hostname=settings.host,
                port=settings.port,
                timeout=settings.timeout_seconds,
                start_tls=settings.start_tls,
                username=settings.username or None,
                password=settings.password or None,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            raise _refusal(refused.recipients[0]) from None
        except aiosmtplib.SMTPResponseException as refused:
            raise _refusal(refused) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(
                f"SMTP server {settings.host}:{settings.port} unreachable "
                f"({type(error).__name__})"
            ) from None


def _email(outgoing: Outgoing, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outgoing.to
    message["Subject"] = outgoing.subject
    # The same delivery keeps one Message-ID, so mail systems can drop a copy.
    message["Message-ID"] = f"<{outgoing.reference}@{MESSAGE_ID_DOMAIN}>"
    message.set_content(outgoing.body)
    if outgoing.qr_token:
        message.add_attachment(
            qr.render_png(outgoing.qr_token),
            maintype="image",
            subtype="png",
            filename=QR_FILE_NAME,
        )
    return message


def _refusal(error: aiosmtplib.SMTPResponseException) -> DeliveryFailed:
    """A failure from an SMTP reply: 5xx codes are permanent, 4xx are not."""
    return DeliveryFailed(
        f"SMTP {error.code}: {redact(error.message)}",
        permanent=500 <= error.code < 600,
    )


class HttpProvider:
    """Sends SMS or push messages through an HTTP provider."""

    def __init__(self, channel: Channel, url: str, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self.url = url.rstrip("/") + "/v1/messages"
        self.client = client

    async def send(self, outgoing: Outgoing) -> None:
        name = self.channel.value.lower()
        try:
            response = await self.client.post(
                self.url,
                json={
                    "channel": name,
                    "to": outgoing.to,
                    "body": outgoing.body,
                    "reference": outgoing.reference,
                },
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(
                f"{name} provider unreachable ({type(error).__name__})"
            ) from None
        if not response.is_success:
            status = response.status_code
            raise DeliveryFailed(
                f"{name} provider answered {status}: {redact(response.text)}",
                permanent=400 <= status < 500 and status not in _TRANSIENT_STATUSES,
            )


def http_client(settings: NotificationSettings) -> httpx.AsyncClient:
    """The client SMS and push providers share, with explicit timeouts."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.provider_read_timeout_seconds,
            connect=settings.provider_connect_timeout_seconds,
        )
    )


def providers(
    settings: NotificationSettings, client: httpx.AsyncClient
) -> dict[Channel, Provider]:
    """A provider per configured channel; push only when it has a URL."""
    configured: dict[Channel, Provider] = {
        Channel.EMAIL: SmtpMailer(settings.smtp),
        Channel.SMS: HttpProvider(Channel.SMS, settings.sms_url, client),
    }
    if settings.push_url:
        configured[Channel.PUSH] = HttpProvider(Channel.PUSH, settings.push_url, client)
    return configured


def redact(text: str) -> str:
    """``text`` on one line, at most a few hundred chars, with e-mail
    addresses and phone numbers masked: safe to store, log and show."""
    text = _EMAIL.sub(r"\1***@\2", _LINE_BREAKS.sub(" ", text).strip())
    return _PHONE.sub(r"******\1", text)[:MAX_QUOTED_LENGTH]
