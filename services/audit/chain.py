"""The audit hash chain: what each record's hash covers, and the check that
recomputes every hash from the first record on.

A record's canonical content is a JSON object of all its fields but the two
hashes, keys sorted, no spaces, ASCII only, with the serialized event in
base64 and times in UTC to the microsecond. Its hash is
``SHA-256(prev_hash || content)``, where ``prev_hash`` is the previous
record's hash (32 zero bytes for the first record). Changing any stored field
of any record, or removing or inserting a record, makes that record or the
one after it fail the check.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

GENESIS_HASH = bytes(32)


@dataclass(frozen=True)
class Entry:
    """What one event says, before it takes its place in the chain."""

    event_id: str
    event_type: str
    subject: str
    occur_time: datetime
    appointment: str
    citizen: str
    clinic: str
    actor: str
    # The serialized vaxbook.events.v1.Event, exactly as received.
    event: bytes


@dataclass(frozen=True)
class AuditRow:
    """A stored record; fields in the order of the table's columns."""

    seq: int
    event_id: str
    event_type: str
    subject: str
    occur_time: datetime
    record_time: datetime
    appointment: str
    citizen: str
    clinic: str
    actor: str
    event: bytes
    prev_hash: bytes
    hash: bytes


class ChainProblem(StrEnum):
    """Why a record does not verify."""

    CONTENT_ALTERED = "CONTENT_ALTERED"
    LINK_BROKEN = "LINK_BROKEN"
    SEQUENCE_GAP = "SEQUENCE_GAP"


_PROBLEM_SENTENCES = {
    ChainProblem.CONTENT_ALTERED: "its content no longer gives its hash",
    ChainProblem.LINK_BROKEN: "its prev_hash is not the hash of the record before",
    ChainProblem.SEQUENCE_GAP: "its seq does not follow the record before",
}


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a check: how many records were checked and the first
    that does not verify, if any."""

    records_checked: int
    mismatch: AuditRow | None = None
    problem: ChainProblem | None = None

    @property
    def intact(self) -> bool:
        return self.mismatch is None

    def describe(self) -> str:
        """One line for an operator."""
        if self.mismatch is None:
            return f"all {self.records_checked} records verify"
        return (
            f"record {self.mismatch.seq} (event {self.mismatch.event_id}) does "
            f"not verify: {_PROBLEM_SENTENCES[self.problem]}"
        )


def link(entry: Entry, seq: int, record_time: datetime, prev_hash: bytes) -> AuditRow:
    """``entry`` as record ``seq`` of the chain, after the record whose hash
    is ``prev_hash``."""
    fields = {**entry.__dict__, "seq": seq, "record_time": record_time}
    unhashed = AuditRow(**fields, prev_hash=prev_hash, hash=b"")
    return AuditRow(**fields, prev_hash=prev_hash, hash=record_hash(unhashed))


def record_hash(row: AuditRow) -> bytes:
    """SHA-256 of the row's ``prev_hash`` followed by its canonical content."""
    return hashlib.sha256(row.prev_hash + canonical_content(row)).digest()


def canonical_content(row: AuditRow) -> bytes:
    """Every field of the row but its hashes, as canonical JSON bytes."""
    document = {
        "seq": row.seq,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "subject": row.subject,
        "occur_time": _utc(row.occur_time),
        "record_time": _utc(row.record_time),
        "appointment": row.appointment,
        "citizen": row.citizen,
        "clinic": row.clinic,
        "actor": row.actor,
        "event": base64.b64encode(row.event).decode("ascii"),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def check(row: AuditRow, seq: int, prev_hash: bytes) -> ChainProblem | None:
    """Why ``row`` cannot be record ``seq`` after a record hashed
    ``prev_hash``; ``None`` when it verifies."""
    if row.seq != seq:
        return ChainProblem.SEQUENCE_GAP
    if row.prev_hash != prev_hash:
        return ChainProblem.LINK_BROKEN
    if row.hash != record_hash(row):
        return ChainProblem.CONTENT_ALTERED
    return None


async def verify(rows: AsyncIterable[AuditRow]) -> ChainReport:
    """Checks ``rows``, which come in chain order from the first, and stops
    at the first that does not verify."""
    checked, prev_hash = 0, GENESIS_HASH
    async for row in rows:
        checked += 1
        problem = check(row, checked, prev_hash)
        if problem is not None:
            return ChainReport(checked, row, problem)
        prev_hash = row.hash
    return ChainReport(checked)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
