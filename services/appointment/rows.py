"""An appointment as the service reads it from its table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class AppointmentRow:
    id: str
    citizen_id: str
    clinic_id: str
    slot_id: str
    vaccine: str
    dose_number: int
    state: str
    reserve_request_id: str
    hold_expires_at: datetime
    slot_start: datetime
    slot_end: datetime
    confirm_requested: bool
    release_pending: bool
    end_reason: str
    create_time: datetime
    update_time: datetime
    eligibility: str = "CHECKING"
    reasons: tuple[dict[str, str], ...] = ()
    rules_version: str = ""
    review_required: bool = False
    review_opened: bool = False
    eligibility_attempts: int = 0
    next_check_at: datetime | None = None
    rebooking_offered: bool = False
    confirm_time: datetime | None = None
    qr_key_id: str | None = None
    qr_generation: int = 0
    administer_time: datetime | None = None
    administer_batch: str | None = None
    vaccinator: str | None = None
    administer_device: str | None = None
    history_pending: bool = False

    def as_seen_at(self, now: datetime) -> AppointmentRow:
        """The row as a reader should see it: a PENDING hold that has run out
        reads EXPIRED even before the repair job records it."""
        if (
            self.state == "PENDING"
            and not self.confirm_requested
            and self.hold_expires_at <= now
        ):
            return replace(self, state="EXPIRED", end_reason="HOLD_EXPIRED")
        return self


@dataclass(frozen=True)
class OfferRow:
    """A rebooking offer: a seat held on ``slot_id`` for the citizen whose
    appointment ``appointment_id`` the clinic cancelled."""

    appointment_id: str
    new_appointment_id: str
    citizen_id: str
    clinic_id: str
    slot_id: str
    vaccine: str
    dose_number: int
    slot_start: datetime
    slot_end: datetime
    rules_version: str
    state: str
    expires_at: datetime
    create_time: datetime
    update_time: datetime
    release_pending: bool = False

    def as_seen_at(self, now: datetime) -> OfferRow:
        """An open offer past its expiry reads LAPSED before the job says so."""
        if self.state == "OPEN" and self.expires_at <= now:
            return replace(self, state="LAPSED")
        return self
