"""``vaxbook book``: a citizen's booking from sign-in to confirmation over
gRPC, then a refused booking for a dependant with every reason shown.

It talks to running services exactly as a client would: the one-time code is
read from the development outbox file that ``vaxbook up`` sets, since no SMS
is really sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc, vaccination_pb2_grpc
from vaxbook.appointment.v1 import vaccination_pb2 as vax
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc
from vaxbook.patient.v1 import patient_pb2 as pat
from vaxbook.patient.v1 import patient_pb2_grpc

from services.common.auth import bearer
from services.common.config import Settings
from services.common.errors import read_error
from services.seed import DEMO_CLINICS, demo_batch

CALL_TIMEOUT_SECONDS = 5.0
# How long to wait for a code to appear in the development outbox.
CODE_WAIT_SECONDS = 5.0
# How long to wait for an eligibility check queued for retry.
ELIGIBILITY_WAIT_SECONDS = 30.0
DEMO_DEPENDANT = "Demo child"
DEMO_DEPENDANT_AGE_YEARS = 5


@dataclass
class Stubs:
    auth: auth_pb2_grpc.AuthServiceStub
    patients: patient_pb2_grpc.PatientServiceStub
    clinics: clinic_pb2_grpc.ClinicServiceStub
    inventory: inventory_pb2_grpc.InventoryServiceStub
    appointments: appointment_pb2_grpc.AppointmentServiceStub
    vaccination: vaccination_pb2_grpc.VaccinationServiceStub


async def walk_through(settings: Settings, args) -> int:
    """Runs the walkthrough; 0 when every step went as expected."""
    channels = {
        name: grpc.aio.insecure_channel(settings.service_addrs[name])
        for name in ("auth", "patient", "clinic", "inventory", "appointment")
    }
    stubs = Stubs(
        auth_pb2_grpc.AuthServiceStub(channels["auth"]),
        patient_pb2_grpc.PatientServiceStub(channels["patient"]),
        clinic_pb2_grpc.ClinicServiceStub(channels["clinic"]),
        inventory_pb2_grpc.InventoryServiceStub(channels["inventory"]),
        appointment_pb2_grpc.AppointmentServiceStub(channels["appointment"]),
        vaccination_pb2_grpc.VaccinationServiceStub(channels["appointment"]),
    )
    try:
        return await _walk(stubs, settings, args)
    except grpc.aio.AioRpcError as error:
        details = read_error(error)
        print(f"refused: {details.code.name} {details.reason}: {details.message}")
        return 1
    finally:
        for channel in channels.values():
            await channel.close()


async def _walk(stubs: Stubs, settings: Settings, args) -> int:
    token = await sign_in(stubs.auth, settings, args)
    citizen = token.subject
    as_citizen = bearer(token.token)
    print(f"1. signed in   {citizen} as {auth.Role.Name(token.role)}")
    await write_record(stubs.patients, citizen, args.birth_date, args, as_citizen)
    print(f"2. record      born {args.birth_date}, region {args.region}")

    slot = await next_open_slot(
        stubs.clinics, args.region, args.vaccine, running=args.today
    )
    if slot is None:
        print(f"no open slot offers {args.vaccine} in region {args.region}")
        return 1
    print(f"3. slot        {slot.name} starting {slot.start_time.ToJsonString()}")
    await show_availability(stubs.inventory, slot.name, args.vaccine)

    reserved = await reserve(stubs.appointments, citizen, slot, args, as_citizen)
    reserved = await settled(stubs.appointments, reserved, as_citizen)
    show_appointment("4. hold", reserved)
    await show_availability(stubs.inventory, slot.name, args.vaccine)
    if reserved.state != appt.APPOINTMENT_STATE_PENDING:
        return 1

    confirmed = await confirm(stubs.appointments, reserved.name, as_citizen)
    show_appointment("5. confirm", confirmed)
    await show_availability(stubs.inventory, slot.name, args.vaccine)
    if args.keep:
        await _save_qr_code(stubs, confirmed, slot, args, as_citizen)
    else:
        cancelled = await cancel(stubs.appointments, reserved.name, as_citizen)
        show_appointment("6. cancel", cancelled)
        await show_availability(stubs.inventory, slot.name, args.vaccine)

    return await _refused_case(stubs, citizen, slot, args, as_citizen)


async def _save_qr_code(stubs: Stubs, appointment, slot, args, as_citizen) -> None:
    """Writes the confirmed appointment's QR code where a scanner can read
    it, and says how to scan it."""
    code = await stubs.vaccination.GetAppointmentQrCode(
        vax.GetAppointmentQrCodeRequest(name=appointment.name),
        metadata=as_citizen,
        timeout=CALL_TIMEOUT_SECONDS,
    )
    path = Path(args.qr_dir) / f"qr-{appointment.name.split('/')[1]}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(code.png)
    clinic = await stubs.clinics.GetClinic(
        clin.GetClinicRequest(name=slot.name.rsplit("/slots/", 1)[0]),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    number = _demo_batch_of(clinic, args.vaccine) or "<batch number>"
    print(f"6. qr code     {path} (signed with key {code.key_id})")
    print(f"{'':<14} scan it: .venv/bin/vaxbook scan --image {path} --batch {number}")


def _demo_batch_of(clinic: clin.Clinic, vaccine: str) -> str | None:
    for demo in DEMO_CLINICS:
        if demo.display_name == clinic.display_name and vaccine in demo.vaccines:
            return demo_batch(demo, vaccine)
    return None


async def _refused_case(stubs: Stubs, citizen: str, slot, args, as_citizen) -> int:
    """Books the same slot for a young dependant, whom the rules refuse."""
    dependant = await _demo_dependant(stubs.auth, citizen, as_citizen)
    born = date.today().replace(year=date.today().year - DEMO_DEPENDANT_AGE_YEARS)
    await write_record(stubs.patients, dependant, born.isoformat(), args, as_citizen)
    print(f"7. dependant   {dependant}, born {born.isoformat()}")
    refused = await reserve(stubs.appointments, dependant, slot, args, as_citizen)
    show_appointment("8. refused", refused)
    for reason in refused.reasons:
        print(f"               {reason.code}: {reason.message}")
    await show_availability(stubs.inventory, slot.name, args.vaccine)
    return 0 if refused.state == appt.APPOINTMENT_STATE_REJECTED else 1


async def sign_in(stub, settings: Settings, args) -> auth.AccessToken:
    """Signs up (once) and signs in with a one-time code."""
    contact = auth.Contact(phone_number=args.phone)
    try:
        await stub.SignUp(
            auth.SignUpRequest(
                national_id=args.national_id, contact=contact, request_id=new_id()
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )
    except grpc.aio.AioRpcError as error:
        if read_error(error).reason != "ACCOUNT_EXISTS":
            raise
    outbox = Path(settings.dev_outbox_path)
    already_sent = _outbox_lines(outbox)
    challenge = await stub.StartSignIn(
        auth.StartSignInRequest(national_id=args.national_id, request_id=new_id()),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    code = await _code_from_outbox(outbox, args.phone, already_sent)
    return await stub.CompleteSignIn(
        auth.CompleteSignInRequest(
            challenge=challenge.name, code=code, request_id=new_id()
        ),
        timeout=CALL_TIMEOUT_SECONDS,
    )


def _outbox_lines(outbox: Path) -> int:
    return len(outbox.read_text().splitlines()) if outbox.exists() else 0


async def _code_from_outbox(outbox: Path, phone: str, skip_lines: int) -> str:
    """The first code sent to ``phone`` after the first ``skip_lines``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CODE_WAIT_SECONDS
    while loop.time() < deadline:
        code = _code_sent(outbox, phone, skip_lines)
        if code is not None:
            return code
        await asyncio.sleep(0.1)
    raise SystemExit(
        f"no sign-in code reached {outbox}; is VAXBOOK_DEV_OUTBOX the file "
        "the auth service writes to?"
    )


def _code_sent(outbox: Path, phone: str, skip_lines: int) -> str | None:
    if not outbox.exists():
        return None
    for line in outbox.read_text().splitlines()[skip_lines:]:
        sent = json.loads(line)
        if sent["to"] == phone:
            return sent["code"]
    return None


async def write_record(stub, person: str, birth_date: str, args, metadata) -> None:
    await stub.UpdatePatient(
        pat.UpdatePatientRequest(
            patient=pat.Patient(
                name=f"{person}/patient",
                birth_date=birth_date,
                region=args.region,
                allergies=args.allergy,
                guardian_consent=True,
            ),
            allow_missing=True,
            request_id=new_id(),
        ),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def _demo_dependant(stub, citizen: str, metadata) -> str:
    """The citizen's demo dependant, registered on first use."""
    listed = await stub.ListDependants(
        auth.ListDependantsRequest(parent=citizen),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )
    for dependant in listed.dependants:
        if dependant.display_name == DEMO_DEPENDANT:
            return dependant.name
    added = await stub.AddDependant(
        auth.AddDependantRequest(
            parent=citizen,
            dependant=auth.Dependant(
                display_name=DEMO_DEPENDANT, relationship=auth.RELATIONSHIP_CHILD
            ),
            request_id=new_id(),
        ),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )
    return added.name


async def reserve(stub, person: str, slot, args, metadata) -> appt.Appointment:
    return await stub.ReserveAppointment(
        appt.ReserveAppointmentRequest(
            citizen=person,
            slot=slot.name,
            vaccine=args.vaccine,
            dose_number=1,
            request_id=new_id(),
        ),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def get(stub, name: str, metadata) -> appt.Appointment:
    return await stub.GetAppointment(
        appt.GetAppointmentRequest(name=name),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def confirm(stub, name: str, metadata) -> appt.Appointment:
    return await stub.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=name, request_id=new_id()),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def cancel(stub, name: str, metadata) -> appt.Appointment:
    return await stub.CancelAppointment(
        appt.CancelAppointmentRequest(name=name, request_id=new_id()),
        metadata=metadata,
        timeout=CALL_TIMEOUT_SECONDS,
    )


async def settled(stub, appointment: appt.Appointment, metadata) -> appt.Appointment:
    """The appointment once eligibility has stopped retrying."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ELIGIBILITY_WAIT_SECONDS
    while appointment.eligibility in (
        appt.ELIGIBILITY_STATE_CHECKING,
        appt.ELIGIBILITY_STATE_RETRYING,
    ):
        if loop.time() > deadline:
            break
        print("   eligibility is waiting for the insurance check; polling")
        await asyncio.sleep(1)
        appointment = await get(stub, appointment.name, metadata)
    return appointment


async def next_open_slot(
    clinics, region: str, vaccine: str, running: bool = False
) -> clin.Slot | None:
    """The earliest slot that has not started yet (or, with ``running``, that
    has not ended yet), or ``None``."""
    now = datetime.now(UTC)
    token = ""
    while True:
        page = await clinics.ListSlots(
            clin.ListSlotsRequest(
                parent="clinics/-",
                region=region,
                vaccine=vaccine,
                page_size=100,
                page_token=token,
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        for slot in page.slots:
            if _bookable(slot, now, running):
                return slot
        if not page.next_page_token:
            return None
        token = page.next_page_token


def _bookable(slot: clin.Slot, now: datetime, running: bool) -> bool:
    edge = slot.end_time if running else slot.start_time
    return edge.ToDatetime(tzinfo=UTC) > now


async def show_availability(inventory, slot: str, vaccine: str) -> None:
    counts = await inventory.GetAvailability(
        inv.GetAvailabilityRequest(slot=slot, vaccine=vaccine),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    print(
        f"{'':<14} seats free {counts.seats.free}/{counts.seats.total} "
        f"(held {counts.seats.held}, committed {counts.seats.committed}); "
        f"{vaccine} doses free {counts.doses.free}/{counts.doses.total}"
    )


def show_appointment(label: str, appointment: appt.Appointment) -> None:
    state = appt.AppointmentState.Name(appointment.state).removeprefix(
        "APPOINTMENT_STATE_"
    )
    eligibility = appt.EligibilityState.Name(appointment.eligibility).removeprefix(
        "ELIGIBILITY_STATE_"
    )
    review = ", review required" if appointment.review_required else ""
    print(
        f"{label:<14} {appointment.name} {state}; eligibility {eligibility}"
        f" (rules {appointment.rules_version or '-'}){review}"
    )


def new_id() -> str:
    return uuid.uuid4().hex
