"""The appointment service's domain error and its reason codes."""

from __future__ import annotations

from datetime import datetime

import grpc

from services.common.errors import DomainError


class AppointmentError(DomainError):
    """A booking step the appointment service refuses."""

    @classmethod
    def already_booked(cls, citizen: str, dose_number: int) -> AppointmentError:
        return cls(
            "ALREADY_BOOKED",
            f"{citizen} already has an active appointment for dose {dose_number}; "
            "cancel it before booking another",
            code=grpc.StatusCode.ALREADY_EXISTS,
            metadata={"citizen": citizen, "dose_number": str(dose_number)},
        )

    @classmethod
    def request_id_reused(cls, request_id: str) -> AppointmentError:
        return cls(
            "REQUEST_ID_REUSED",
            f"request_id {request_id!r} was already used for a different "
            "reservation; use a new request_id",
            code=grpc.StatusCode.INVALID_ARGUMENT,
        )

    @classmethod
    def vaccine_not_offered(cls, slot: str, vaccine: str) -> AppointmentError:
        return cls(
            "VACCINE_NOT_OFFERED",
            f"the clinic of {slot} does not give {vaccine}; choose another clinic",
            metadata={"slot": slot, "vaccine": vaccine},
        )

    @classmethod
    def slot_over(cls, slot: str) -> AppointmentError:
        return cls(
            "SLOT_OVER",
            f"{slot} has already ended; choose a later slot",
            metadata={"slot": slot},
        )

    @classmethod
    def hold_expired(cls, appointment: str) -> AppointmentError:
        return cls(
            "HOLD_EXPIRED",
            f"the hold of {appointment} ran out before confirmation; reserve again",
            metadata={"appointment": appointment},
        )

    @classmethod
    def wrong_state(cls, appointment: str, state: str, action: str) -> AppointmentError:
        return cls(
            "APPOINTMENT_NOT_ACTIVE"
            if action == "cancel"
            else "APPOINTMENT_NOT_PENDING",
            f"{appointment} is {state} and cannot be {action}ed",
            metadata={"appointment": appointment, "state": state},
        )

    @classmethod
    def eligibility_pending(
        cls, appointment: str, next_check_at: datetime | None
    ) -> AppointmentError:
        when = f" (next check at {next_check_at:%H:%M:%S} UTC)" if next_check_at else ""
        return cls(
            "ELIGIBILITY_PENDING",
            f"eligibility for {appointment} is still being checked{when}; "
            "confirm once it has passed",
            metadata={"appointment": appointment},
        )

    @classmethod
    def slot_cancelled(cls, slot: str) -> AppointmentError:
        return cls(
            "SLOT_CLOSED",
            f"slot {slot} was cancelled by the clinic; choose another slot",
            metadata={"slot": slot},
        )

    @classmethod
    def offer_closed(cls, offer: str, state: str) -> AppointmentError:
        return cls(
            "OFFER_CLOSED",
            f"{offer} is {state.lower()} and can no longer be answered; "
            "book a new appointment instead",
            metadata={"offer": offer, "state": state},
        )

    @classmethod
    def not_confirmed(cls, appointment: str, state: str) -> AppointmentError:
        return cls(
            "APPOINTMENT_NOT_CONFIRMED",
            f"{appointment} is {state} and cannot be rescheduled; only a "
            "CONFIRMED appointment can move to another slot",
            metadata={"appointment": appointment, "state": state},
        )

    @classmethod
    def same_slot(cls, appointment: str, slot: str) -> AppointmentError:
        return cls(
            "SAME_SLOT",
            f"{appointment} is already booked in {slot}; choose another slot",
            code=grpc.StatusCode.INVALID_ARGUMENT,
            metadata={"appointment": appointment, "slot": slot},
        )
