"""PostgreSQL storage of appointments.

Every state change is a guarded update, and writes its lifecycle event to the
outbox in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appointment.events import AppointmentEvents, Outgoing
from services.appointment.rows import AppointmentRow
from services.appointment.tables import ACTIVE_STATES, appointments, outbox
from services.common.auth import Principal
from services.common.batching import Batcher
from services.common.db import autocommit
from services.common.names import APPOINTMENT, CLINIC, Person
from services.common.outbox import write_events
from services.common.views import personal_data_viewed

# Built once; executed with many rows, SQLAlchemy sends them as one
# multi-row INSERT without compiling it again.
_INSERT = insert(appointments).on_conflict_do_nothing().returning(appointments.c.id)


class AppointmentStore:
    def __init__(self, engine: AsyncEngine, events: AppointmentEvents) -> None:
        self.engine = engine
        self.events = events
        # Reads are single statements: one round trip, no BEGIN.
        self.single = autocommit(engine)
        self._inserts = Batcher(self._insert_rows)
        self._passes = Batcher(self._record_passes)
        self._marks = Batcher(self._mark_confirming)
        self._confirms = Batcher(self._confirm)

    async def find_for_reserve(
        self, request_id: str, citizen_id: str, dose_number: int, now: datetime
    ) -> AppointmentRow | None:
        """The appointment a Reserve clashes with: the one made by the same
        ``request_id``, else the citizen's active one for the dose."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments).where(
                    or_(
                        appointments.c.reserve_request_id == request_id,
                        and_(
                            appointments.c.citizen_id == citizen_id,
                            appointments.c.dose_number == dose_number,
                            appointments.c.state.in_(ACTIVE_STATES),
                        ),
                    )
                )
            )
            found = [AppointmentRow(*row) for row in rows]
        found.sort(key=lambda row: row.reserve_request_id != request_id)
        for row in found:
            if row.reserve_request_id == request_id or row.as_seen_at(now).state in (
                ACTIVE_STATES
            ):
                return row
        return None

    async def insert(self, row: AppointmentRow) -> bool:
        """Inserts a new appointment; ``False`` when it clashes with one that
        holds its request id or its citizen's active dose. Concurrent inserts
        share one statement."""
        return await self._inserts.submit(row)

    async def _insert_rows(self, rows: list[AppointmentRow]) -> list[bool]:
        async with self.engine.begin() as conn:
            result = await conn.execute(_INSERT, [row.__dict__ for row in rows])
            inserted = set(result.scalars())
            await write_events(
                conn,
                outbox,
                [self.events.reserved(row) for row in rows if row.id in inserted],
                rows[0].create_time,
            )
        return [row.id in inserted for row in rows]

    async def expire_stale(self, citizen_id: str, dose_number: int, now: datetime):
        """Records as EXPIRED the citizen's run-out hold for this dose, so it no
        longer blocks a new booking; its release is left to the repair job."""
        await self._update(
            and_(
                appointments.c.citizen_id == citizen_id,
                appointments.c.dose_number == dose_number,
                appointments.c.state == "PENDING",
                appointments.c.confirm_requested.is_(False),
                appointments.c.hold_expires_at <= now,
            ),
            state="EXPIRED",
            end_reason="HOLD_EXPIRED",
            release_pending=True,
            update_time=now,
        )

    async def get(self, appointment_id: str) -> AppointmentRow | None:
        async with self.single.connect() as conn:
            row = (
                await conn.execute(
                    select(appointments).where(appointments.c.id == appointment_id)
                )
            ).first()
        return AppointmentRow(*row) if row else None

    async def list_for_citizen(
        self, citizen_id: str, offset: int, limit: int
    ) -> list[AppointmentRow]:
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(appointments.c.citizen_id == citizen_id)
                .order_by(appointments.c.create_time.desc(), appointments.c.id)
                .offset(offset)
                .limit(limit)
            )
            return [AppointmentRow(*row) for row in rows]

    async def transition(
        self,
        appointment_id: str,
        from_states: tuple[str, ...],
        *,
        was_confirmed: bool = False,
        **values,
    ) -> AppointmentRow | None:
        """Changes an appointment only if it is in one of ``from_states``;
        returns the new row, or ``None`` when it was not. A change of state
        writes its event."""
        rows = await self._update(
            and_(
                appointments.c.id == appointment_id,
                appointments.c.state.in_(from_states),
            ),
            was_confirmed=was_confirmed,
            **values,
        )
        return rows[0] if rows else None

    async def release_done(self, appointment_id: str) -> None:
        await self._update(appointments.c.id == appointment_id, release_pending=False)

    async def mark_confirming(self, appointment_id: str) -> AppointmentRow | None:
        """Records that a PENDING appointment's hold is being committed, so an
        interrupted confirm is finished rather than released; ``None`` when it
        is no longer pending. Concurrent marks share one statement."""
        return await self._marks.submit(appointment_id)

    async def _mark_confirming(self, ids: list[str]) -> list[AppointmentRow | None]:
        rows = await self._update(
            and_(appointments.c.id.in_(ids), appointments.c.state == "PENDING"),
            confirm_requested=True,
        )
        return _in_order(ids, rows)

    async def confirm(
        self, appointment_id: str, now: datetime
    ) -> AppointmentRow | None:
        """Marks a PENDING appointment CONFIRMED with its event; ``None`` when
        it is no longer pending. Concurrent confirms share one transaction."""
        return await self._confirms.submit((appointment_id, now))

    async def _confirm(
        self, confirms: list[tuple[str, datetime]]
    ) -> list[AppointmentRow | None]:
        ids = [appointment_id for appointment_id, _ in confirms]
        confirmed_at = max(now for _, now in confirms)
        rows = await self._update(
            and_(appointments.c.id.in_(ids), appointments.c.state == "PENDING"),
            state="CONFIRMED",
            update_time=confirmed_at,
            confirm_time=confirmed_at,
            qr_key_id=self.events.qr.active_key_id,
        )
        return _in_order(ids, rows)

    async def reschedule(
        self, old: AppointmentRow, new: AppointmentRow
    ) -> AppointmentRow | None:
        """In one transaction, with both events: ends the CONFIRMED ``old`` as
        CANCELLED (reason ``RESCHEDULED``), owing the release of its hold, and
        records ``new``, CONFIRMED on its committed hold. Returns the ended
        ``old``, or ``None`` when it was no longer CONFIRMED."""
        async with self.engine.begin() as conn:
            ended = (
                await conn.execute(
                    update(appointments)
                    .where(
                        appointments.c.id == old.id,
                        appointments.c.state == "CONFIRMED",
                    )
                    .values(
                        state="CANCELLED",
                        end_reason="RESCHEDULED",
                        release_pending=True,
                        update_time=new.update_time,
                    )
                    .returning(*appointments.c)
                )
            ).first()
            if ended is None:
                return None
            ended = AppointmentRow(*ended)
            await conn.execute(insert(appointments).values(**new.__dict__))
            events = [
                self.events.ended(ended, was_confirmed=True),
                self.events.ended(new, was_confirmed=False),
            ]
            await write_events(conn, outbox, events, new.update_time)
        return ended

    async def record_pass(
        self, appointment_id: str, rules_version: str
    ) -> AppointmentRow | None:
        """Marks a PENDING appointment's eligibility as passed; ``None`` when
        it is no longer pending. Concurrent marks share one statement."""
        return await self._passes.submit((appointment_id, rules_version))

    async def _record_passes(
        self, passes: list[tuple[str, str]]
    ) -> list[AppointmentRow | None]:
        by_version: dict[str, list[str]] = defaultdict(list)
        for appointment_id, rules_version in passes:
            by_version[rules_version].append(appointment_id)
        passed: list[AppointmentRow] = []
        for rules_version, ids in by_version.items():
            rows = await self._update(
                and_(
                    appointments.c.id.in_(ids),
                    appointments.c.state == "PENDING",
                    appointments.c.eligibility.in_(("CHECKING", "RETRYING")),
                ),
                eligibility="PASSED",
                rules_version=rules_version,
                next_check_at=None,
            )
            passed += rows
        return _in_order([appointment_id for appointment_id, _ in passes], passed)

    async def update_fields(self, appointment_id: str, **values) -> None:
        """Sets bookkeeping fields that change no state."""
        await self._update(appointments.c.id == appointment_id, **values)

    async def claim_due_checks(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[AppointmentRow]:
        """Live bookings whose eligibility check is due, each claimed until
        ``lease_until`` so that no other replica checks it meanwhile."""
        due = (
            select(appointments.c.id)
            .where(
                appointments.c.state == "PENDING",
                appointments.c.eligibility.in_(("CHECKING", "RETRYING")),
                appointments.c.next_check_at <= now,
                appointments.c.hold_expires_at > now,
            )
            .order_by(appointments.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._update(
            appointments.c.id.in_(due.scalar_subquery()), next_check_at=lease_until
        )

    async def no_shows_due(self, cutoff: datetime, limit: int) -> list[AppointmentRow]:
        """CONFIRMED appointments whose slot ended at or before ``cutoff``."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(
                    appointments.c.state == "CONFIRMED",
                    appointments.c.slot_end <= cutoff,
                )
                .order_by(appointments.c.slot_end)
                .limit(limit)
            )
            return [AppointmentRow(*row) for row in rows]

    async def owing_review_case(self, limit: int) -> list[AppointmentRow]:
        """Provisional bookings whose review case is not open yet."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(
                    appointments.c.review_required.is_(True),
                    appointments.c.review_opened.is_(False),
                )
                .limit(limit)
            )
            return [AppointmentRow(*row) for row in rows]

    async def needing_repair(self, now: datetime, limit: int) -> list[AppointmentRow]:
        """Run-out PENDING appointments and ended ones whose release is owed."""
        async with self.single.connect() as conn:
            rows = await conn.execute(
                select(appointments)
                .where(
                    or_(
                        and_(
                            appointments.c.state == "PENDING",
                            appointments.c.hold_expires_at <= now,
                        ),
                        appointments.c.release_pending.is_(True),
                    )
                )
                .limit(limit)
            )
            return [AppointmentRow(*row) for row in rows]

    async def _update(
        self, condition, was_confirmed: bool = False, **values
    ) -> list[AppointmentRow]:
        statement = (
            update(appointments)
            .where(condition)
            .values(**values)
            .returning(*appointments.c)
        )
        announced = "state" in values or "review_required" in values
        if not announced:
            # Bookkeeping with no event: one statement, no transaction.
            async with self.single.connect() as conn:
                return [AppointmentRow(*row) for row in await conn.execute(statement)]
        async with self.engine.begin() as conn:
            rows = [AppointmentRow(*row) for row in await conn.execute(statement)]
            if "state" in values:
                events = [self.events.ended(row, was_confirmed) for row in rows]
            elif values["review_required"]:
                events = [self.events.review_required(row) for row in rows]
            else:
                events = [self.events.review_resolved(row) for row in rows]
            await write_events(
                conn, outbox, [e for e in events if e], values["update_time"]
            )
        return rows

    async def list_for_clinic(self, day: ClinicDay) -> list[AppointmentRow]:
        """The clinic's ever-confirmed appointments that ``day`` asks for, by
        slot start, then by booking time; one more than the page, to tell
        whether another page follows."""
        query = select(appointments).where(
            appointments.c.clinic_id == day.clinic_id,
            appointments.c.confirm_time.is_not(None),
        )
        if day.slot_id is not None:
            query = query.where(appointments.c.slot_id == day.slot_id)
        if day.start_from is not None:
            query = query.where(appointments.c.slot_start >= day.start_from)
        if day.start_before is not None:
            query = query.where(appointments.c.slot_start < day.start_before)
        query = (
            query.order_by(
                appointments.c.slot_start,
                appointments.c.create_time,
                appointments.c.id,
            )
            .offset(day.offset)
            .limit(day.page_size + 1)
        )
        async with self.single.connect() as conn:
            return [AppointmentRow(*row) for row in await conn.execute(query)]

    async def record_view(
        self, row: AppointmentRow, viewer: Principal, rpc: str, now: datetime
    ) -> None:
        """Writes to the outbox, for the audit trail, that ``viewer`` read the
        appointment through ``rpc``, in a statement of its own."""
        await self.record_views([row], viewer, rpc, now)

    async def record_views(
        self, rows: list[AppointmentRow], viewer: Principal, rpc: str, now: datetime
    ) -> None:
        """Writes to the outbox, for the audit trail, one view by ``viewer``
        through ``rpc`` of each appointment of ``rows``, in one statement."""
        if not rows:
            return
        views = [_view(self.events, row, viewer, rpc, now) for row in rows]
        async with self.single.connect() as conn:
            await write_events(conn, outbox, views, now)


@dataclass(frozen=True)
class ClinicDay:
    """Which of a clinic's appointments to list: optionally one slot and a
    window of slot starts, then a page of ``page_size`` from ``offset``."""

    clinic_id: str
    offset: int
    page_size: int
    slot_id: str | None = None
    start_from: datetime | None = None
    start_before: datetime | None = None


def _view(
    events: AppointmentEvents,
    row: AppointmentRow,
    viewer: Principal,
    rpc: str,
    now: datetime,
) -> Outgoing:
    """The event recording that ``viewer`` read the appointment of ``row``."""
    name = APPOINTMENT.format(appointment=row.id)
    return personal_data_viewed(
        events.settings,
        viewer,
        name,
        rpc,
        now,
        citizen=Person.from_key(row.citizen_id).name,
        appointment=name,
        clinic=CLINIC.format(clinic=row.clinic_id),
    )


def _in_order(
    ids: list[str], rows: list[AppointmentRow]
) -> list[AppointmentRow | None]:
    """``rows`` in the order of ``ids``, ``None`` where an id has no row."""
    by_id = {row.id: row for row in rows}
    return [by_id.get(appointment_id) for appointment_id in ids]
