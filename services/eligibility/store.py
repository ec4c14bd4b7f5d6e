"""PostgreSQL storage of rule sets and review cases.

Recording a rule set writes its ``RuleSetActivated`` event to the eligibility
outbox in the same transaction; a version already recorded writes none.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.outbox import write_events
from services.eligibility.events import EligibilityEvents
from services.eligibility.tables import outbox, review_cases, rule_sets

# Held by each transaction recording a rule set until it ends. Recordings one
# after another keep the order of their ids, their commits and their events
# the same, so the last RuleSetActivated on the stream names the set in force.
RULE_SET_LOCK_KEY = zlib.crc32(b"eligibility:rule_sets")


class ReviewState(StrEnum):
    """Where a review case is in its life."""

    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class RuleSetRow:
    id: int
    version: str
    rules_json: str
    source: str
    request_id: str
    create_time: datetime


@dataclass(frozen=True)
class Recorded:
    """The rule set holding a version, and whether this call recorded it."""

    row: RuleSetRow
    created: bool


@dataclass(frozen=True)
class NewReviewCase:
    appointment_id: str
    person_key: str
    vaccine: str
    dose_number: int
    reason: str
    rules_version: str


@dataclass(frozen=True)
class ReviewCaseRow:
    id: str
    appointment_id: str
    person_key: str
    vaccine: str
    dose_number: int
    reason: str
    rules_version: str
    state: str
    reviewer: str
    note: str
    create_time: datetime
    decide_time: datetime | None
    decision_applied: bool


_RULE_SET_COLUMNS = (
    rule_sets.c.id,
    rule_sets.c.version,
    rule_sets.c.rules_json,
    rule_sets.c.source,
    rule_sets.c.request_id,
    rule_sets.c.create_time,
)
_CASE_COLUMNS = (
    review_cases.c.id,
    review_cases.c.appointment_id,
    review_cases.c.person_key,
    review_cases.c.vaccine,
    review_cases.c.dose_number,
    review_cases.c.reason,
    review_cases.c.rules_version,
    review_cases.c.state,
    review_cases.c.reviewer,
    review_cases.c.note,
    review_cases.c.create_time,
    review_cases.c.decide_time,
    review_cases.c.decision_applied,
)


class EligibilityStore:
    def __init__(self, engine: AsyncEngine, events: EligibilityEvents) -> None:
        self.engine = engine
        self.events = events

    # Rule sets

    async def record_rule_set(
        self,
        version: str,
        rules_json: str,
        source: str,
        request_id: str,
        actor: str,
        now: datetime,
    ) -> Recorded:
        """Records a rule set unless its version is already recorded; either
        way returns the set recorded under that version. A set recorded now
        is the latest, so it is in force: that is the event written."""
        async with self.engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(RULE_SET_LOCK_KEY)))
            inserted = (
                await conn.execute(
                    insert(rule_sets)
                    .values(
                        version=version,
                        rules_json=rules_json,
                        source=source,
                        request_id=request_id,
                        create_time=now,
                    )
                    .on_conflict_do_nothing(index_elements=[rule_sets.c.version])
                    .returning(*_RULE_SET_COLUMNS)
                )
            ).first()
            if inserted is not None:
                row = RuleSetRow(*inserted)
                event = self.events.rule_set_activated(row, actor)
                await write_events(conn, outbox, [event], now)
                return Recorded(row, created=True)
            row = (
                await conn.execute(
                    select(*_RULE_SET_COLUMNS).where(rule_sets.c.version == version)
                )
            ).one()
        return Recorded(RuleSetRow(*row), created=False)

    async def latest_rule_set(self) -> RuleSetRow | None:
        """The rule set recorded last: the one in force."""
        query = select(*_RULE_SET_COLUMNS).order_by(rule_sets.c.id.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return RuleSetRow(*row) if row else None

    # Review cases

    async def open_review_case(
        self, new: NewReviewCase, now: datetime
    ) -> ReviewCaseRow:
        """Opens a case; the appointment's existing case when it has one."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(review_cases)
                .values(
                    id=uuid.uuid4().hex,
                    state=ReviewState.OPEN,
                    create_time=now,
                    **new.__dict__,
                )
                .on_conflict_do_nothing(index_elements=[review_cases.c.appointment_id])
            )
            row = (
                await conn.execute(
                    select(*_CASE_COLUMNS).where(
                        review_cases.c.appointment_id == new.appointment_id
                    )
                )
            ).one()
        return ReviewCaseRow(*row)

    async def get_review_case(self, case_id: str) -> ReviewCaseRow | None:
        query = select(*_CASE_COLUMNS).where(review_cases.c.id == case_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return ReviewCaseRow(*row) if row else None

    async def list_review_cases(
        self, state: str | None, offset: int, limit: int
    ) -> list[ReviewCaseRow]:
        """Cases oldest first, optionally only those in ``state``."""
        query = (
            select(*_CASE_COLUMNS)
            .order_by(review_cases.c.create_time, review_cases.c.seq)
            .offset(offset)
            .limit(limit)
        )
        if state is not None:
            query = query.where(review_cases.c.state == state)
        async with self.engine.connect() as conn:
            return [ReviewCaseRow(*row) for row in await conn.execute(query)]

    async def decide_review_case(
        self, case_id: str, state: str, reviewer: str, note: str, now: datetime
    ) -> ReviewCaseRow | None:
        """Records the decision on an open case, not yet applied. A case
        already decided is returned unchanged; ``None`` when there is none."""
        async with self.engine.begin() as conn:
            decided = (
                await conn.execute(
                    update(review_cases)
                    .where(
                        review_cases.c.id == case_id,
                        review_cases.c.state == ReviewState.OPEN,
                    )
                    .values(
                        state=state,
                        reviewer=reviewer,
                        note=note,
                        decide_time=now,
                        decision_applied=False,
                    )
                    .returning(*_CASE_COLUMNS)
                )
            ).first()
        if decided is not None:
            return ReviewCaseRow(*decided)
        return await self.get_review_case(case_id)

    async def mark_applied(self, case_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(review_cases)
                .where(review_cases.c.id == case_id)
                .values(decision_applied=True)
            )

    async def mark_refused(self, case_id: str, error: str) -> None:
        """Records why the appointment service refused the decision, so it
        is not sent again."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(review_cases)
                .where(review_cases.c.id == case_id)
                .values(apply_error=error)
            )

    async def unapplied_decisions(self, limit: int) -> list[ReviewCaseRow]:
        """Decisions still to reach their appointment, oldest first."""
        query = (
            select(*_CASE_COLUMNS)
            .where(
                review_cases.c.state != ReviewState.OPEN,
                review_cases.c.decision_applied.is_(False),
                review_cases.c.apply_error == "",
            )
            .order_by(review_cases.c.decide_time)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [ReviewCaseRow(*row) for row in await conn.execute(query)]
