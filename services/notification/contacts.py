"""Where and in which language to tell a person: asked of the auth service
at each attempt, so a changed contact is used at once and none is stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from vaxbook.auth.v1 import auth_pb2, auth_pb2_grpc

from services.common.errors import DomainError
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.notification.providers import Channel

log = logging.getLogger(__name__)

# Answers meaning there is nobody to tell, rather than "ask again later".
_NOBODY = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT})


@dataclass(frozen=True)
class Recipient:
    """The citizen account told about a person, its contact and language."""

    account: str
    channel: Channel
    address: str = field(repr=False)
    masked_address: str
    language: str

    def destination(self, channel: Channel) -> str:
        """Where a message over ``channel`` goes: the contact address, or
        for push the account whose devices receive it."""
        return self.account if channel is Channel.PUSH else self.address

    def masked_destination(self, channel: Channel) -> str:
        return self.account if channel is Channel.PUSH else self.masked_address


class Contacts:
    def __init__(self, auth: auth_pb2_grpc.AuthServiceStub) -> None:
        self.auth = auth

    async def find(self, person: str) -> Recipient | None:
        """Who is told about ``person``; ``None`` when the auth service knows
        no such person. Raises ``Unavailable`` when it cannot answer."""
        try:
            async with upstream("auth"):
                found = await self.auth.GetNotificationContact(
                    auth_pb2.GetNotificationContactRequest(name=person),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
        except DomainError as error:
            if error.code not in _NOBODY:
                raise
            log.warning("nobody to notify: %s", error.reason)
            return None
        return _recipient(found)


def _recipient(found: auth_pb2.NotificationContact) -> Recipient:
    if found.contact.WhichOneof("destination") == "phone_number":
        channel, address = Channel.SMS, found.contact.phone_number
    else:
        channel, address = Channel.EMAIL, found.contact.email
    return Recipient(
        found.account,
        channel,
        address,
        found.masked_destination,
        found.preferred_language,
    )
