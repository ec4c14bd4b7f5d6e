"""The stand-in SMS and push provider: messages recorded, failures to order.

``POST /v1/messages`` takes ``{"channel": "sms" | "push", "to": ..., "body":
..., "reference": ...}`` and answers 202 ``{"id": ..., "duplicate": false}``.
A reference it has already taken is not recorded again: the answer is 200
with ``"duplicate": true``.

Faults, in this order: ``fail_always`` answers every message with
``status_code``; otherwise the next ``fail_next`` messages are answered with it,
one fewer each time.

Admin endpoints, for tests and demos only (no authentication; bind to
localhost, since they show full phone numbers): ``GET /admin/messages`` lists
what was taken, oldest first; ``GET /admin/faults`` shows the faults and
``POST /admin/faults`` changes any of them (a partial JSON object).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CHANNELS = frozenset({"sms", "push"})
MAX_BODY_LENGTH = 2000


class FaultsInvalid(ValueError):
    """A fault setting is malformed; the message names the field."""


@dataclass(frozen=True)
class Faults:
    """Which messages are refused, and with which HTTP status."""

    fail_next: int = 0
    fail_always: bool = False
    status_code: int = 503

    def __post_init__(self) -> None:
        if self.fail_next < 0:
            raise FaultsInvalid("fail_next must be 0 or more")
        if not 400 <= self.status_code <= 599:
            raise FaultsInvalid("status_code must be between 400 and 599")

    def changed(self, changes: Mapping[str, object]) -> Faults:
        """A copy with the fields in ``changes`` replaced."""
        kinds = {field.name: field.type for field in dataclasses.fields(self)}
        values = {}
        for name, value in changes.items():
            if name not in kinds:
                raise FaultsInvalid(f"{name}: unknown fault")
            values[name] = _fault_value(name, value, kinds[name])
        return dataclasses.replace(self, **values)


def _fault_value(name: str, value: object, kind: str) -> object:
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FaultsInvalid(f"{name}: bad value {value!r}")


class MessageInvalid(ValueError):
    """A message the provider refuses; the message names the field."""


@dataclass(frozen=True)
class Received:
    """One message the stand-in took."""

    id: str
    channel: str
    to: str
    body: str
    reference: str


class Standin:
    """The stand-in's state: what it took, and the faults."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.messages: list[Received] = []
        self._by_reference: dict[str, Received] = {}
        self.refused = 0

    def change_faults(self, changes: Mapping[str, object]) -> None:
        self.faults = self.faults.changed(changes)

    def refusal(self) -> int | None:
        """The status to refuse the next message with; ``None`` to take it."""
        if self.faults.fail_always:
            return self.faults.status_code
        if self.faults.fail_next:
            self.faults = dataclasses.replace(
                self.faults, fail_next=self.faults.fail_next - 1
            )
            return self.faults.status_code
        return None

    def take(self, body: object) -> tuple[Received, bool]:
        """Records a message; ``True`` with it when it was taken before."""
        fields = _message_fields(body)
        known = self._by_reference.get(fields["reference"])
        if known is not None:
            return known, True
        received = Received(id=uuid.uuid4().hex, **fields)
        self.messages.append(received)
        self._by_reference[received.reference] = received
        return received, False

    def sent_to(self, to: str) -> list[Received]:
        """The messages taken for ``to``, oldest first."""
        return [message for message in self.messages if message.to == to]


def _message_fields(body: object) -> dict[str, str]:
    if not isinstance(body, dict):
        raise MessageInvalid("the body must be a JSON object")
    fields = {}
    for name in ("channel", "to", "body", "reference"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise MessageInvalid(f"{name} must be a non-empty string")
        fields[name] = value
    if fields["channel"] not in CHANNELS:
        raise MessageInvalid(f"channel must be one of {sorted(CHANNELS)}")
    if len(fields["body"]) > MAX_BODY_LENGTH:
        raise MessageInvalid(f"body must be at most {MAX_BODY_LENGTH} chars")
    return fields


def create_app(standin: Standin) -> Starlette:
    """The HTTP application serving ``standin``."""

    async def send(request: Request) -> JSONResponse:
        status = standin.refusal()
        if status is not None:
            standin.refused += 1
            return JSONResponse({"error": "injected failure"}, status_code=status)
        try:
            received, duplicate = standin.take(await request.json())
        except (MessageInvalid, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(
            {"id": received.id, "duplicate": duplicate},
            status_code=200 if duplicate else 202,
        )

    async def messages(request: Request) -> JSONResponse:
        return JSONResponse(
            {"messages": [dataclasses.asdict(m) for m in standin.messages]}
        )

    async def show_faults(request: Request) -> JSONResponse:
        return JSONResponse(_faults_body(standin))

    async def change_faults(request: Request) -> JSONResponse:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise FaultsInvalid("the body must be a JSON object")
            standin.change_faults(changes)
        except (FaultsInvalid, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(_faults_body(standin))

    return Starlette(
        routes=[
            Route("/v1/messages", send, methods=["POST"]),
            Route("/admin/messages", messages, methods=["GET"]),
            Route("/admin/faults", show_faults, methods=["GET"]),
            Route("/admin/faults", change_faults, methods=["POST"]),
        ]
    )


def _faults_body(standin: Standin) -> dict[str, object]:
    return {**dataclasses.asdict(standin.faults), "refused": standin.refused}
