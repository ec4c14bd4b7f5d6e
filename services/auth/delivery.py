"""Delivering one-time codes to a phone or e-mail address.

Production plugs in an SMS or e-mail gateway behind :class:`CodeSender`. The
development sender keeps what it would have sent where a developer can read
it: in memory for tests, and optionally appended to a file for ``make run``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from services.auth.identity import Contact


class CodeSender(Protocol):
    async def send(self, contact: Contact, code: str, expire_time: datetime) -> None:
        """Delivers ``code`` to ``contact``; raises if it cannot."""
        ...


@dataclass(frozen=True)
class Delivery:
    contact: Contact
    code: str
    expire_time: datetime

    def __repr__(self) -> str:
        return f"Delivery(to={self.contact.masked()!r}, code=...)"


class DevOutbox:
    """Records deliveries instead of sending them. Development only: codes
    written to ``path`` are readable by whoever can read the file."""

    def __init__(self, path: str = "") -> None:
        self.deliveries: list[Delivery] = []
        self.path = Path(path) if path else None

    async def send(self, contact: Contact, code: str, expire_time: datetime) -> None:
        self.deliveries.append(Delivery(contact, code, expire_time))
        if self.path is not None:
            self._append(contact, code, expire_time)

    def latest_code(self, contact: Contact) -> str:
        """The last code sent to ``contact``."""
        for delivery in reversed(self.deliveries):
            if delivery.contact == contact:
                return delivery.code
        raise LookupError(f"no code was sent to {contact.masked()}")

    def _append(self, contact: Contact, code: str, expire_time: datetime) -> None:
        line = json.dumps(
            {
                "to": contact.address,
                "code": code,
                "expire_time": expire_time.isoformat(),
            }
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as out:
            out.write(line + "\n")
