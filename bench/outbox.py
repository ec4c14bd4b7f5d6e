"""The appointment outbox under load: how long events wait, how fast the relay
publishes.

Both figures are read from ``appointment.outbox`` in the bench database, as the
relay inside the appointment process leaves it. The relay stamps ``sent_at``
on a whole batch once JetStream has acknowledged every event of it, so
``sent_at - created_at`` is an event's wait up to its publication, overstated
by at most the publishing of the rest of its batch. ``created_at`` is the time
of the change the event records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from vaxbook.events.v1 import events_pb2

from bench import BenchError
from services.appointment.tables import outbox
from services.common.clock import SystemClock, to_timestamp
from services.common.events import EventSettings, new_event
from services.common.outbox import write_events

log = logging.getLogger(__name__)

LAG_QUANTILE = 0.99
# Several full relay batches, so the rate spans many passes.
BACKLOG_EVENTS = 5000
DRAIN_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.1


async def outbox_lag_p99_seconds(
    engine: AsyncEngine, created_from: datetime, created_until: datetime
) -> float:
    """The 99th percentile wait of the events created in the window, read
    once every one of them is sent."""
    window = and_(
        outbox.c.created_at >= created_from, outbox.c.created_at <= created_until
    )
    await _wait_drained(engine, window)
    wait_seconds = func.extract("epoch", outbox.c.sent_at - outbox.c.created_at)
    async with engine.connect() as conn:
        events, lag = (
            await conn.execute(
                select(
                    func.count(),
                    func.percentile_cont(LAG_QUANTILE).within_group(wait_seconds),
                ).where(window)
            )
        ).one()
    log.info("outbox lag: p99 %.3f s over %d events", lag or 0.0, events)
    return float(lag or 0.0)


async def relay_events_per_second(
    engine: AsyncEngine, settings: EventSettings, count: int = BACKLOG_EVENTS
) -> float:
    """Events a second the appointment relay publishes from a backlog.

    ``count`` events are written to the outbox in one transaction, under a
    subject of their own. The rate runs from the end of the relay's first
    batch of them to the end of its last: the events of every batch but the
    first, over that time.
    """
    subject = settings.subject("bench", "backlog")
    now = SystemClock().now()
    async with engine.begin() as conn:
        await write_events(
            conn, outbox, [(subject, _backlog_event(i, now)) for i in range(count)], now
        )
    backlog = outbox.c.subject == subject
    await _wait_drained(engine, backlog)
    async with engine.connect() as conn:
        batches = (
            await conn.execute(
                select(outbox.c.sent_at, func.count())
                .where(backlog)
                .group_by(outbox.c.sent_at)
                .order_by(outbox.c.sent_at)
            )
        ).all()
    return _rate(batches, now)


def _rate(batches: list, written_at: datetime) -> float:
    """Events a second from ``(sent_at, events)`` per relay batch."""
    if len(batches) == 1:
        [(sent_at, events)] = batches
        seconds = (sent_at - written_at).total_seconds()
    else:
        events = sum(n for _, n in batches[1:])
        seconds = (batches[-1][0] - batches[0][0]).total_seconds()
    log.info("relay: %d events in %.3f s, %d batches", events, seconds, len(batches))
    return events / seconds if seconds > 0 else 0.0


def _backlog_event(index: int, now: datetime) -> events_pb2.Event:
    """An event the size of a real reservation's."""
    payload = events_pb2.AppointmentReserved(
        appointment=events_pb2.AppointmentRef(
            appointment=f"appointments/bench-backlog-{index:032d}",
            citizen=f"citizens/bench-backlog-{index:032d}",
            slot=f"clinics/{index:032d}/slots/{index:032d}",
            vaccine="comirnaty",
            dose_number=1,
        ),
        hold_expire_time=to_timestamp(now),
    )
    return new_event("appointment_reserved", payload, now)


async def _wait_drained(engine: AsyncEngine, which) -> None:
    """Returns once no event ``which`` selects is unsent."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while True:
        async with engine.connect() as conn:
            unsent = await conn.scalar(
                select(func.count()).where(which, outbox.c.sent_at.is_(None))
            )
        if not unsent:
            return
        if time.monotonic() > deadline:
            raise BenchError(
                f"{unsent} events still unsent in the appointment outbox after "
                f"{DRAIN_TIMEOUT_SECONDS:g} s; is the relay publishing?"
            )
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
