"""Waiting for the event pipeline to go quiet between a scenario's set-up and
its load.

Setting up a scenario (thousands of patient records, hundreds of bookings)
leaves events behind: relays still publishing them, the audit and
notification consumers still working through them. Measured on top of that
backlog, a figure depends on how much of it happened to be left; so each load
starts once the stream has stopped growing and every consumer of it has
caught up.
"""

from __future__ import annotations

import asyncio
import logging
import time

import nats

from bench import BenchError
from services.common.events import EventSettings

log = logging.getLogger(__name__)

# The stream counts as still growing while its last sequence moved within
# this long: a relay publishes at least once a poll interval while it has work.
QUIET_SECONDS = 1.0
POLL_SECONDS = 0.2
SETTLE_TIMEOUT_SECONDS = 120.0


async def settle(settings: EventSettings) -> None:
    """Returns once no event has been added to the stream for
    ``QUIET_SECONDS`` and every consumer has acknowledged all of it."""
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        started = time.monotonic()
        last_seq, quiet_since = -1, started
        while True:
            now = time.monotonic()
            stream = await js.stream_info(settings.stream)
            if stream.state.last_seq != last_seq:
                last_seq, quiet_since = stream.state.last_seq, now
            behind = sum(
                consumer.num_pending + consumer.num_ack_pending
                for consumer in await js.consumers_info(settings.stream)
            )
            if behind == 0 and now - quiet_since >= QUIET_SECONDS:
                log.info(
                    "events settled in %.1f s at stream sequence %d",
                    now - started,
                    last_seq,
                )
                return
            if now - started > SETTLE_TIMEOUT_SECONDS:
                raise BenchError(
                    f"events did not settle in {SETTLE_TIMEOUT_SECONDS:g} s: "
                    f"{behind} unacknowledged at stream sequence {last_seq}"
                )
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await client.close()
