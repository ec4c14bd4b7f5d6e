"""The lifecycle events of appointments, as written to the outbox."""

from __future__ import annotations

from vaxbook.events.v1 import events_pb2

from services.appointment.eligibility import PROVISIONAL_REASON
from services.appointment.qr_codes import QrIssuer
from services.appointment.rows import AppointmentRow, OfferRow
from services.common.clock import to_timestamp
from services.common.events import EventSettings, new_event
from services.common.names import APPOINTMENT, SLOT, Person

Outgoing = tuple[str, events_pb2.Event]


class AppointmentEvents:
    """Builds ``(subject, event)`` pairs for appointment changes."""

    def __init__(self, settings: EventSettings, qr: QrIssuer) -> None:
        self.settings = settings
        # Signs the code a confirmation carries.
        self.qr = qr

    def reserved(self, row: AppointmentRow) -> Outgoing:
        payload = events_pb2.AppointmentReserved(
            appointment=_ref(row),
            hold_expire_time=to_timestamp(row.hold_expires_at),
        )
        return self._event("reserved", "appointment_reserved", payload, row)

    def ended(
        self, row: AppointmentRow, was_confirmed: bool, actor: str = ""
    ) -> Outgoing | None:
        """The event of a state change, or ``None`` when the state is live."""
        if row.state == "CONFIRMED":
            payload = events_pb2.AppointmentConfirmed(
                appointment=_ref(row), qr_token=self.qr.token(row)
            )
            return self._event("confirmed", "appointment_confirmed", payload, row)
        if row.state == "ADMINISTERED":
            payload = events_pb2.AppointmentAdministered(
                appointment=_ref(row),
                batch=row.administer_batch or "",
                administer_time=to_timestamp(row.administer_time),
                vaccinator=row.vaccinator or "",
                device_id=row.administer_device or "",
                actor=actor,
            )
            return self._event("administered", "appointment_administered", payload, row)
        if row.state == "CANCELLED":
            payload = events_pb2.AppointmentCancelled(
                appointment=_ref(row),
                was_confirmed=was_confirmed,
                reason=row.end_reason,
            )
            return self._event("cancelled", "appointment_cancelled", payload, row)
        if row.state == "EXPIRED":
            payload = events_pb2.AppointmentExpired(
                appointment=_ref(row), reason=row.end_reason
            )
            return self._event("expired", "appointment_expired", payload, row)
        if row.state == "NO_SHOW":
            payload = events_pb2.AppointmentNoShow(appointment=_ref(row))
            return self._event("no_show", "appointment_no_show", payload, row)
        if row.state == "CLINIC_CANCELLED":
            payload = events_pb2.AppointmentClinicCancelled(
                appointment=_ref(row),
                was_confirmed=was_confirmed,
                reason=row.end_reason,
                note=row.reasons[-1].get("note", "") if row.reasons else "",
            )
            return self._event(
                "clinic_cancelled", "appointment_clinic_cancelled", payload, row
            )
        if row.state == "REJECTED":
            payload = events_pb2.AppointmentRejected(
                appointment=_ref(row),
                reasons=[reason["code"] for reason in row.reasons],
            )
            return self._event("rejected", "appointment_rejected", payload, row)
        return None

    def review_required(self, row: AppointmentRow) -> Outgoing:
        payload = events_pb2.AppointmentReviewRequired(
            appointment=_ref(row), reason=PROVISIONAL_REASON
        )
        return self._event(
            "review_required", "appointment_review_required", payload, row
        )

    def review_resolved(self, row: AppointmentRow) -> Outgoing:
        """A reviewer kept the appointment; a rejection is a cancellation."""
        payload = events_pb2.AppointmentReviewResolved(
            appointment=_ref(row), approved=True
        )
        return self._event(
            "review_resolved", "appointment_review_resolved", payload, row
        )

    def offered(self, offer: OfferRow, cancelled: AppointmentRow) -> Outgoing:
        payload = events_pb2.RebookingOffered(
            offer=offer_name(offer.appointment_id),
            appointment=_ref(cancelled),
            slot=SLOT.format(clinic=offer.clinic_id, slot=offer.slot_id),
            slot_start_time=to_timestamp(offer.slot_start),
            expire_time=to_timestamp(offer.expires_at),
        )
        event = new_event("rebooking_offered", payload, offer.create_time)
        return self.settings.subject("rebooking_offer", "offered"), event

    def offer_closed(self, offer: OfferRow, cancelled: AppointmentRow) -> Outgoing:
        payload = events_pb2.RebookingOfferClosed(
            offer=offer_name(offer.appointment_id),
            appointment=_ref(cancelled),
            outcome=offer.state,
        )
        if offer.state == "ACCEPTED":
            payload.new_appointment = APPOINTMENT.format(
                appointment=offer.new_appointment_id
            )
        event = new_event("rebooking_offer_closed", payload, offer.update_time)
        return self.settings.subject("rebooking_offer", "closed"), event

    def _event(self, name, field, payload, row: AppointmentRow) -> Outgoing:
        event = new_event(field, payload, row.update_time)
        return self.settings.subject("appointment", name), event


def _ref(row: AppointmentRow) -> events_pb2.AppointmentRef:
    return events_pb2.AppointmentRef(
        appointment=APPOINTMENT.format(appointment=row.id),
        citizen=Person.from_key(row.citizen_id).name,
        slot=SLOT.format(clinic=row.clinic_id, slot=row.slot_id),
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        slot_start_time=to_timestamp(row.slot_start),
    )


def offer_name(appointment_id: str) -> str:
    return f"{APPOINTMENT.format(appointment=appointment_id)}/rebookingOffer"
