"""Vaccine batches: receipt, expiry, and the doses given from them.

A batch brings its doses into its clinic's stock when received and takes
those not given out when it expires, each time as a recorded adjustment of
the stock, exactly as ``AdjustDoseStock`` makes one. A dose given from a batch
fulfils an appointment's committed hold: the hold becomes USED, and the dose
leaves the stock with its committed claim. PostgreSQL changes first; Redis
follows with the same change (see ``Inventory.follow_stock`` and
``Inventory.follow_dose_use``), and the reconciler repairs what a crash in
between leaves.
"""

from __future__ import annotations

import logging
from datetime import UTC, date

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.names import BATCH, HOLD
from services.inventory.batch_store import (
    EXPIRED,
    BatchRow,
    BatchStore,
    DoseUseRow,
)
from services.inventory.errors import InventoryError
from services.inventory.inventory import Inventory
from services.inventory.store import COMMITTED, Adjustment, HoldRow, Refused

log = logging.getLogger(__name__)


class Batches:
    """The batch rules behind the inventory service."""

    def __init__(self, store: BatchStore, inventory: Inventory, clock: Clock) -> None:
        self.store = store
        self.inventory = inventory
        self.clock = clock

    def today(self) -> date:
        """The current day in UTC, by which batches expire."""
        return self.clock.now().astimezone(UTC).date()

    async def get(self, clinic_id: str, batch_id: str) -> BatchRow:
        batch = await self.store.get(clinic_id, batch_id)
        if batch is None:
            raise NotFound("batch", BATCH.format(clinic=clinic_id, batch=batch_id))
        return batch

    async def receive(self, batch: BatchRow, actor: str) -> BatchRow:
        """Records a batch and adds its doses to the stock; a retry with the
        batch's ``request_id`` returns the batch first received."""
        known = await self.store.get(batch.clinic_id, batch.batch_id)
        if known is None:
            _refuse_expired_receipt(batch, self.today())
            try:
                received, adjustment = await self.store.receive(
                    batch, actor, self.clock.now()
                )
            except Refused:
                # Another request received the same number meanwhile.
                known = await self.store.get(batch.clinic_id, batch.batch_id)
            else:
                await self.inventory.follow_stock(adjustment)
                log.info("batch received", extra={"fields": _fields(received)})
                return received
        if known.request_id != batch.request_id:
            raise InventoryError.batch_exists(_name(batch))
        return known

    async def expire(
        self, today: date, request_id: str
    ) -> tuple[list[BatchRow], list[Adjustment]]:
        """Expires the active batches whose last day is before ``today`` and
        removes their doses not given from the stock. Returns every batch
        expired under ``request_id``, in this call or an earlier one, with
        the adjustments that removed their doses."""
        for clinic_id, batch_id in await self.store.due(today):
            expired = await self.store.expire(
                clinic_id, batch_id, request_id, self.clock.now()
            )
            if expired is None:
                continue
            batch, adjustment = expired
            if adjustment is not None:
                await self.inventory.follow_stock(adjustment)
            log.info("batch expired", extra={"fields": _fields(batch)})
        return await self.store.expired_by(request_id)

    async def consume_dose(self, use: DoseUseRow, hold_clinic_id: str) -> DoseUseRow:
        """Records a dose given for an appointment from a batch, fulfilling
        the appointment's committed hold at ``hold_clinic_id``. The first
        record of an appointment stands: every later call returns it."""
        first = await self.store.dose_use(use.appointment_id)
        if first is not None:
            return first

        def judge(batch: BatchRow | None, hold: HoldRow | None) -> None:
            judge_dose(use, batch, hold, hold_clinic_id)

        recorded, made = await self.store.consume(use, judge, self.clock.now())
        if made:
            await self.inventory.follow_dose_use(recorded.clinic_id, recorded.vaccine)
            log.info(
                "dose given",
                extra={"fields": {"batch": _name(recorded), "hold": use.hold_id}},
            )
        return recorded


def judge_dose(
    use: DoseUseRow, batch: BatchRow | None, hold: HoldRow | None, hold_clinic_id: str
) -> None:
    """Raises the first reason, in the documented order, why the dose of
    ``use`` cannot come from ``batch`` for ``hold``; returns when it can."""
    batch_name = BATCH.format(clinic=use.clinic_id, batch=use.batch_id)
    hold_name = HOLD.format(clinic=hold_clinic_id, hold=use.hold_id)
    if hold is not None and hold.clinic_id != hold_clinic_id:
        hold = None
    day = use.administer_time.astimezone(UTC).date()
    if batch is None:
        raise NotFound("batch", batch_name)
    if batch.clinic_id != hold_clinic_id:
        raise InventoryError.batch_other_clinic(batch_name, hold_name)
    # A hold whose release alone was recorded names no vaccine.
    if hold is not None and hold.vaccine and hold.vaccine != batch.vaccine:
        raise InventoryError.batch_wrong_vaccine(
            batch_name, batch.vaccine, hold_name, hold.vaccine
        )
    _refuse_expired_dose(batch, batch_name, day)
    if batch.doses_left <= 0:
        raise InventoryError.batch_used_up(batch_name, batch.doses_received)
    if hold is None or hold.state != COMMITTED:
        # PostgreSQL knows a Redis hold only once it is committed or ended.
        state = "held or unknown" if hold is None else hold.state.lower()
        raise InventoryError.hold_not_committed(hold_name, state)


def _refuse_expired_dose(batch: BatchRow, batch_name: str, day: date) -> None:
    last_day = batch.expire_date.isoformat()
    if day > batch.expire_date:
        raise InventoryError.batch_expired(
            batch_name, last_day, f"its doses cannot be given on {day.isoformat()}"
        )
    if batch.state == EXPIRED:
        raise InventoryError.batch_expired(
            batch_name, last_day, "its doses not given were removed from the stock"
        )


def _refuse_expired_receipt(batch: BatchRow, today: date) -> None:
    if batch.expire_date < today:
        raise InventoryError.batch_expired(
            _name(batch),
            batch.expire_date.isoformat(),
            f"it cannot be received on {today.isoformat()}",
        )


def _name(batch: BatchRow | DoseUseRow) -> str:
    return BATCH.format(clinic=batch.clinic_id, batch=batch.batch_id)


def _fields(batch: BatchRow) -> dict:
    return {"batch": _name(batch), "doses_left": batch.doses_left}
