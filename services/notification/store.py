"""PostgreSQL storage of what the service knows of appointments, and of
every delivery with its state."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import case, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import autocommit
from services.notification.tables import appointments, deliveries


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
    DEAD = "DEAD"


# States a delivery never leaves.
FINISHED = frozenset({DeliveryState.SENT, DeliveryState.DEAD})


@dataclass(frozen=True)
class ReminderPlan:
    """The reminder a confirmation owes: ``remind_at`` is ``None`` when the
    slot starts too soon for one."""

    event_id: str
    remind_at: datetime | None


@dataclass(frozen=True)
class AppointmentFacts:
    """What one event says about its appointment."""

    id: str
    person: str
    account: str
    last_event: str
    last_event_time: datetime
    # The event's stream sequence: each appointment's events are published in
    # the order they happened, so it breaks ties of ``last_event_time``.
    last_event_seq: int
    slot: str
    vaccine: str
    dose_number: int
    slot_start: datetime | None
    # Set by a confirmation.
    reminder: ReminderPlan | None = None
    # Set by an event after which no reminder is owed (a cancellation, say).
    ends_reminder: bool = False


@dataclass(frozen=True)
class OwedReminder:
    """A reminder claimed by one pass, with what it says."""

    appointment_id: str
    person: str
    event_id: str
    slot: str
    vaccine: str
    dose_number: int
    slot_start: datetime


@dataclass(frozen=True)
class NewDelivery:
    appointment_id: str
    event_id: str
    template: str
    channel: str
    language: str
    masked_destination: str


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    appointment_id: str
    event_id: str
    template: str
    channel: str
    language: str
    masked_destination: str
    state: str
    attempts: int
    last_error: str
    create_time: datetime
    update_time: datetime
    send_time: datetime | None
    dead_letter_time: datetime | None


_DELIVERY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.appointment_id,
    deliveries.c.event_id,
    deliveries.c.template,
    deliveries.c.channel,
    deliveries.c.language,
    deliveries.c.masked_destination,
    deliveries.c.state,
    deliveries.c.attempts,
    deliveries.c.last_error,
    deliveries.c.create_time,
    deliveries.c.update_time,
    deliveries.c.send_time,
    deliveries.c.dead_letter_time,
)
_REMINDER_COLUMNS = (
    appointments.c.id,
    appointments.c.person,
    appointments.c.reminder_event_id,
    appointments.c.slot,
    appointments.c.vaccine,
    appointments.c.dose_number,
    appointments.c.slot_start,
)
# Columns every event about an appointment refreshes.
_FACT_COLUMNS = (
    "person",
    "account",
    "last_event",
    "last_event_time",
    "last_event_seq",
    "slot",
    "vaccine",
    "dose_number",
)


class NotificationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Single statements, without a BEGIN and COMMIT or ROLLBACK around them.
        self._single_statements = autocommit(engine)

    # Appointments

    async def record_appointment(self, facts: AppointmentFacts) -> None:
        """Records what an event says, unless a later event was recorded
        already. A confirmation schedules its reminder once, however often
        it is delivered."""
        values = {name: getattr(facts, name) for name in ("id", *_FACT_COLUMNS)}
        values["slot_start"] = facts.slot_start
        if facts.reminder is not None:
            values["reminder_event_id"] = facts.reminder.event_id
            values["remind_at"] = facts.reminder.remind_at
            change = _Reminder.SET
        else:
            change = _Reminder.END if facts.ends_reminder else _Reminder.KEEP
        async with self._single_statements.connect() as conn:
            await conn.execute(_recording(change), values)

    async def appointment_account(self, appointment_id: str) -> str | None:
        """The citizen account answering for an appointment; ``None`` when no
        event about it has arrived."""
        query = select(appointments.c.account).where(
            appointments.c.id == appointment_id
        )
        async with self._single_statements.connect() as conn:
            return await conn.scalar(query)

    # Reminders

    async def claim_due_reminders(
        self, now: datetime, until: datetime, limit: int
    ) -> list[OwedReminder]:
        """Claims up to ``limit`` reminders due by ``now`` until ``until``.
        Concurrent passes claim different reminders: rows another pass is
        claiming are skipped."""
        claimed = appointments.c.reminder_claimed_until
        due = (
            select(appointments.c.id)
            .where(
                appointments.c.remind_at <= now,
                or_(claimed.is_(None), claimed <= now),
            )
            .order_by(appointments.c.remind_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(appointments)
            .where(appointments.c.id.in_(due))
            .values(reminder_claimed_until=until)
            .returning(*_REMINDER_COLUMNS)
        )
        async with self.engine.begin() as conn:
            return [OwedReminder(*row) for row in await conn.execute(statement)]

    async def finish_reminder(self, appointment_id: str, event_id: str) -> None:
        """Marks the reminder of confirmation ``event_id`` as done."""
        await self._update_reminder(
            appointment_id, event_id, remind_at=None, reminder_claimed_until=None
        )

    async def postpone_reminder(
        self, appointment_id: str, event_id: str, until: datetime
    ) -> None:
        """Leaves the reminder for a later pass, not before ``until``."""
        await self._update_reminder(
            appointment_id, event_id, reminder_claimed_until=until
        )

    async def _update_reminder(
        self, appointment_id: str, event_id: str, **values
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(appointments)
                .where(
                    appointments.c.id == appointment_id,
                    appointments.c.reminder_event_id == event_id,
                )
                .values(**values)
            )

    # Deliveries

    async def open_deliveries(
        self, news: list[NewDelivery], now: datetime
    ) -> list[DeliveryRow]:
        """Records the deliveries not recorded yet; returns them all, the
        ones recorded before as they stand."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(deliveries)
                .values(
                    [
                        {
                            "id": uuid.uuid4().hex,
                            "state": DeliveryState.QUEUED,
                            "create_time": now,
                            "update_time": now,
                            **new.__dict__,
                        }
                        for new in news
                    ]
                )
                .on_conflict_do_nothing(
                    index_elements=[
                        deliveries.c.event_id,
                        deliveries.c.template,
                        deliveries.c.channel,
                    ]
                )
            )
            rows = await conn.execute(
                select(*_DELIVERY_COLUMNS)
                .where(
                    deliveries.c.event_id == news[0].event_id,
                    deliveries.c.template == news[0].template,
                    deliveries.c.channel.in_([new.channel for new in news]),
                )
                .order_by(deliveries.c.seq)
            )
            return [DeliveryRow(*row) for row in rows]

    async def claim(
        self, delivery_id: str, now: datetime, until: datetime
    ) -> DeliveryRow | None:
        """Claims an unfinished delivery for one attempt until ``until``;
        ``None`` when it is finished or another attempt holds it."""
        claimed = deliveries.c.claimed_until
        statement = (
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.state.in_([DeliveryState.QUEUED, DeliveryState.FAILED]),
                or_(claimed.is_(None), claimed <= now),
            )
            .values(claimed_until=until)
            .returning(*_DELIVERY_COLUMNS)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        return DeliveryRow(*row) if row else None

    async def record_sent(self, delivery_id: str, now: datetime) -> None:
        await self._finish_attempt(
            delivery_id, now, state=DeliveryState.SENT, send_time=now
        )

    async def record_failure(
        self, delivery_id: str, reason: str, state: DeliveryState, now: datetime
    ) -> DeliveryRow:
        """Records a failed attempt; ``state`` is FAILED or DEAD."""
        return await self._finish_attempt(
            delivery_id, now, state=state, last_error=reason
        )

    async def record_dead_lettered(self, delivery_id: str, now: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(dead_letter_time=now)
            )

    async def _finish_attempt(
        self, delivery_id: str, now: datetime, **values
    ) -> DeliveryRow:
        statement = (
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                attempts=deliveries.c.attempts + 1,
                claimed_until=None,
                update_time=now,
                **values,
            )
            .returning(*_DELIVERY_COLUMNS)
        )
        async with self.engine.begin() as conn:
            return DeliveryRow(*(await conn.execute(statement)).one())

    async def list_deliveries(
        self, appointment_id: str, offset: int, limit: int
    ) -> list[DeliveryRow]:
        """An appointment's deliveries, oldest first."""
        query = (
            select(*_DELIVERY_COLUMNS)
            .where(deliveries.c.appointment_id == appointment_id)
            .order_by(deliveries.c.seq)
            .offset(offset)
            .limit(limit)
        )
        async with self._single_statements.connect() as conn:
            return [DeliveryRow(*row) for row in await conn.execute(query)]


class _Reminder(StrEnum):
    """What an event does to its appointment's reminder."""

    SET = "set"
    END = "end"
    KEEP = "keep"


@functools.cache
def _recording(change: _Reminder):
    """The upsert recording an event's facts, built once for each kind of
    reminder change: building it costs more than running it. The values are
    given at execution."""
    statement = insert(appointments)
    new = statement.excluded
    changes = {name: new[name] for name in _FACT_COLUMNS}
    changes["slot_start"] = func.coalesce(new.slot_start, appointments.c.slot_start)
    if change == _Reminder.SET:
        changes |= _reminder_changes(new)
    elif change == _Reminder.END:
        changes["remind_at"] = None
    return statement.on_conflict_do_update(
        index_elements=[appointments.c.id],
        set_=changes,
        where=tuple_(appointments.c.last_event_time, appointments.c.last_event_seq)
        <= tuple_(new.last_event_time, new.last_event_seq),
    )


def _reminder_changes(new) -> dict:
    """A confirmation not seen before replaces the reminder; the same one
    delivered again leaves it as it stands (perhaps already sent)."""
    unseen = appointments.c.reminder_event_id.is_distinct_from(new.reminder_event_id)
    return {
        "reminder_event_id": new.reminder_event_id,
        "remind_at": case((unseen, new.remind_at), else_=appointments.c.remind_at),
        "reminder_claimed_until": case(
            (unseen, None), else_=appointments.c.reminder_claimed_until
        ),
    }
