"""Reminders a configurable time before each confirmed appointment.

A pass claims the reminders that are due (rows other passes are claiming are
skipped, so replicas share the work and none sends one twice), tells each
citizen, and marks the reminder done, or leaves it for a later pass after a
growing wait when a delivery failed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from services.common import logs
from services.common.clock import Clock
from services.common.errors import DomainError
from services.notification.notices import reminder_notice
from services.notification.notifier import CLAIM_SECONDS, Notifier
from services.notification.store import NotificationStore, OwedReminder

log = logging.getLogger(__name__)

# Most reminders one pass claims.
REMINDER_BATCH = 100


class Reminders:
    def __init__(
        self,
        store: NotificationStore,
        notifier: Notifier,
        zone: ZoneInfo,
        clock: Clock,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.zone = zone
        self.clock = clock

    async def send_due(self) -> int:
        """Sends the reminders due now; returns how many were claimed."""
        now = self.clock.now()
        owed = await self.store.claim_due_reminders(
            now, now + timedelta(seconds=CLAIM_SECONDS), REMINDER_BATCH
        )
        await asyncio.gather(*(self._send(reminder) for reminder in owed))
        return len(owed)

    async def _send(self, owed: OwedReminder) -> None:
        token = logs.new_context(appointment_id=owed.appointment_id)
        try:
            outcome = await self.notifier.notify(reminder_notice(owed, self.zone))
        except DomainError as error:
            log.warning("reminder deferred: %s", error.reason)
            wait = self.notifier.retry.base_delay_seconds
        else:
            wait = outcome.retry_after_seconds
        finally:
            logs.reset(token)
        if wait is None:
            await self.store.finish_reminder(owed.appointment_id, owed.event_id)
            return
        until = self.clock.now() + timedelta(seconds=wait)
        await self.store.postpone_reminder(owed.appointment_id, owed.event_id, until)
