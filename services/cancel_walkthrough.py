"""``vaxbook cancel-slot``: a citizen books and confirms, then the clinic
cancels the slot; the walkthrough shows the appointment CLINIC_CANCELLED, the
priority rebooking offer, the messages the citizen was sent, the offer
answered (and the new appointment cancelled again unless ``--keep``), and the
audit chain verified over every event.

The clinic acts with an operator's service token, as ``vaxbook seed`` does.
The messages are read back from the notification service's delivery records
and, when the stand-in SMS provider is the one in use, from its log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import httpx
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.audit.v1 import audit_pb2, audit_pb2_grpc
from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.notification.v1 import notification_pb2 as note
from vaxbook.notification.v1 import notification_pb2_grpc
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.access import ServiceTokens, service_signer
from services.common.auth import bearer
from services.common.clock import SystemClock
from services.common.config import Settings
from services.common.errors import read_error
from services.notification.config import NotificationSettings
from services.walkthrough import (
    CALL_TIMEOUT_SECONDS,
    cancel,
    confirm,
    get,
    new_id,
    next_open_slot,
    reserve,
    settled,
    show_appointment,
    sign_in,
    write_record,
)

# How long to wait for the citizen's messages and for the audit trail to
# record the last event.
SETTLE_WAIT_SECONDS = 30.0
# The messages a clinic cancellation sends: the cancellation, then the offer.
CANCELLATION_TEMPLATES = ("appointment_clinic_cancelled_slot", "rebooking_offered")
# The audit event recording the offer's answer.
OFFER_ANSWERED = "rebooking_offer_closed"


@dataclass
class Stubs:
    auth: auth_pb2_grpc.AuthServiceStub
    patients: patient_pb2_grpc.PatientServiceStub
    clinics: clinic_pb2_grpc.ClinicServiceStub
    appointments: appointment_pb2_grpc.AppointmentServiceStub
    notifications: notification_pb2_grpc.NotificationServiceStub
    audit: audit_pb2_grpc.AuditServiceStub


async def cancel_slot_walk_through(settings: Settings, args) -> int:
    """Runs the walkthrough; 0 when every step went as expected."""
    names = ("auth", "patient", "clinic", "appointment", "notification", "audit")
    channels = {
        name: grpc.aio.insecure_channel(settings.service_addrs[name]) for name in names
    }
    stubs = Stubs(
        auth_pb2_grpc.AuthServiceStub(channels["auth"]),
        patient_pb2_grpc.PatientServiceStub(channels["patient"]),
        clinic_pb2_grpc.ClinicServiceStub(channels["clinic"]),
        appointment_pb2_grpc.AppointmentServiceStub(channels["appointment"]),
        notification_pb2_grpc.NotificationServiceStub(channels["notification"]),
        audit_pb2_grpc.AuditServiceStub(channels["audit"]),
    )
    operator = ServiceTokens(service_signer(settings.service_key, SystemClock()), "cli")
    try:
        return await _walk(stubs, settings, operator, args)
    except grpc.aio.AioRpcError as error:
        details = read_error(error)
        print(f"refused: {details.code.name} {details.reason}: {details.message}")
        return 1
    finally:
        for channel in channels.values():
            await channel.close()


async def _walk(stubs: Stubs, settings: Settings, operator, args) -> int:
    token = await sign_in(stubs.auth, settings, args)
    citizen, as_citizen = token.subject, bearer(token.token)
    await write_record(stubs.patients, citizen, args.birth_date, args, as_citizen)
    print(f"1. signed in   {citizen}, born {args.birth_date}, region {args.region}")

    slot = await next_open_slot(stubs.clinics, args.region, args.vaccine)
    if slot is None:
        print(f"no open slot offers {args.vaccine} in region {args.region}")
        return 1
    texts_before = len(await _standin_messages(args.phone))
    booked = await reserve(stubs.appointments, citizen, slot, args, as_citizen)
    booked = await settled(stubs.appointments, booked, as_citizen)
    if booked.state != appt.APPOINTMENT_STATE_PENDING:
        show_appointment("2. booked", booked)
        return 1
    booked = await confirm(stubs.appointments, booked.name, as_citizen)
    show_appointment("2. booked", booked)
    print(f"{'':<14} on {slot.name} at {slot.start_time.ToJsonString()}")

    cancelled = await stubs.clinics.CancelSlot(
        clin.CancelSlotRequest(name=slot.name, reason=args.reason, request_id=new_id()),
        metadata=operator.metadata(),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    print(
        f"3. clinic      cancelled {slot.name}: {cancelled.affected_appointments} "
        f"appointment(s), {cancelled.rebooking_offers} rebooking offer(s)"
    )
    booked = await get(stubs.appointments, booked.name, as_citizen)
    show_appointment("4. cancelled", booked)
    if booked.state != appt.APPOINTMENT_STATE_CLINIC_CANCELLED:
        return 1
    if not booked.rebooking_offer:
        print("5. offer       none: no suitable slot has a free seat and dose")
        return 1
    offer = await stubs.appointments.GetRebookingOffer(
        appt.GetRebookingOfferRequest(name=booked.rebooking_offer),
        metadata=as_citizen,
        timeout=CALL_TIMEOUT_SECONDS,
    )
    print(
        f"5. offer       {offer.slot} at {offer.slot_start_time.ToJsonString()}, "
        f"held for you until {offer.expire_time.ToJsonString()}"
    )

    deliveries = await _deliveries_sent(stubs.notifications, booked.name, as_citizen)
    for number, delivery in enumerate(deliveries):
        channel = note.Channel.Name(delivery.channel).removeprefix("CHANNEL_")
        state = note.DeliveryState.Name(delivery.state).removeprefix("DELIVERY_STATE_")
        label = "6. notified" if number == 0 else ""
        print(
            f"{label:<14} {delivery.template} by {channel} to "
            f"{delivery.masked_destination}: {state}"
        )
    for text in (await _standin_messages(args.phone))[texts_before:]:
        print(f"{'':<14} \u201c{text}\u201d")
    if {d.template for d in deliveries} != set(CANCELLATION_TEMPLATES):
        print(f"{'':<14} the citizen was not told within {SETTLE_WAIT_SECONDS:.0f}s")
        return 1

    answered = await _answer(stubs.appointments, offer, args.decline, as_citizen)
    state = appt.RebookingOfferState.Name(answered.state)
    print(f"7. answered    {state.removeprefix('REBOOKING_OFFER_STATE_')}")
    if answered.new_appointment:
        rebooked = await get(stubs.appointments, answered.new_appointment, as_citizen)
        show_appointment("", rebooked)
        if not args.keep:
            # So that the demo citizen can book again.
            rebooked = await cancel(stubs.appointments, rebooked.name, as_citizen)
            show_appointment("", rebooked)

    verified = await _verified_audit(stubs.audit, booked.name, operator)
    if verified.HasField("first_mismatch"):
        print(
            f"8. audit       record {verified.first_mismatch.seq} does not verify: "
            f"{audit_pb2.ChainProblem.Name(verified.problem)}"
        )
        return 1
    print(f"8. audit       all {verified.records_checked} records verify")
    return 0


async def _deliveries_sent(stub, appointment: str, metadata) -> list[note.Delivery]:
    """The appointment's cancellation messages once each is sent or given up
    on, or as they stand after ``SETTLE_WAIT_SECONDS``."""
    unfinished = (note.DELIVERY_STATE_QUEUED, note.DELIVERY_STATE_FAILED)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WAIT_SECONDS
    while True:
        listed = await stub.ListDeliveries(
            note.ListDeliveriesRequest(parent=appointment),
            metadata=metadata,
            timeout=CALL_TIMEOUT_SECONDS,
        )
        found = [d for d in listed.deliveries if d.template in CANCELLATION_TEMPLATES]
        done = len(found) == len(CANCELLATION_TEMPLATES) and not any(
            d.state in unfinished for d in found
        )
        if done or loop.time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def _standin_messages(phone: str) -> list[str]:
    """What the stand-in SMS provider took for ``phone``, oldest first;
    nothing when a real provider is configured or the stand-in does not
    answer."""
    url = f"{NotificationSettings.from_env().sms_url}/admin/messages"
    try:
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
            response.raise_for_status()
    except httpx.HTTPError:
        return []
    messages = response.json().get("messages", [])
    return [m["body"] for m in messages if m.get("to") == phone]


async def _answer(stub, offer, decline: bool, metadata) -> appt.RebookingOffer:
    if decline:
        return await stub.DeclineRebookingOffer(
            appt.DeclineRebookingOfferRequest(name=offer.name, request_id=new_id()),
            metadata=metadata,
            timeout=CALL_TIMEOUT_SECONDS,
        )
    return await stub.AcceptRebookingOffer(
        appt.AcceptRebookingOfferRequest(name=offer.name, request_id=new_id()),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def _verified_audit(stub, appointment: str, operator):
    """The chain verified once the audit trail holds the offer's answer, the
    last event of this walkthrough."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WAIT_SECONDS
    while loop.time() < deadline:
        recorded = await stub.ListAuditRecords(
            audit_pb2.ListAuditRecordsRequest(
                appointment=appointment, event_type=OFFER_ANSWERED
            ),
            metadata=operator.metadata(),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        if recorded.audit_records:
            break
        await asyncio.sleep(0.2)
    return await stub.VerifyAuditChain(
        audit_pb2.VerifyAuditChainRequest(),
        metadata=operator.metadata(),
        timeout=CALL_TIMEOUT_SECONDS,
    )
