"""The vaccination day against the real servers: signed QR codes, the clinic
scanner stream with its verdicts, batches checked and doses recorded once,
offline bundles and uploads, and walk-ins."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import vaccination_pb2 as pb
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.patient.v1 import patient_pb2 as pat

from services.appointment.scanning import SCAN_RPC
from services.appointment.tables import outbox as appointment_outbox
from services.common import qr
from services.common.auth import Role
from services.common.clock import to_timestamp
from services.common.errors import read_error
from services.common.names import Person
from services.scanner import offline_verdict
from tests.mesh import (
    booker,
    events_of,
    make_clinic,
    make_slot,
    new_id,
    qr_keys,
    reserve_request,
)

Rejection = pb.ScanRejection
VACCINE = "comirnaty"


# Builders


def staff_of(mesh, clinic: clin.Clinic):
    return mesh.token(f"staffAccounts/{new_id()}", Role.CLINIC_STAFF, [clinic.name])


async def slot_today(mesh, clinic: clin.Clinic) -> clin.Slot:
    """A slot starting in a minute, on the mesh clock's day."""
    now = mesh.clock.now()
    if (now + timedelta(minutes=31)).date() != now.date():
        mesh.clock.advance(timedelta(hours=2).total_seconds())
        now = mesh.clock.now()
    return await make_slot(mesh, clinic, start=now + timedelta(minutes=1))


async def batch(
    mesh, clinic: clin.Clinic, vaccine=VACCINE, expires: date | None = None, doses=10
) -> str:
    """A batch received at the clinic; its number."""
    number = f"B-{new_id()[:8]}"
    expires = expires or mesh.clock.now().date() + timedelta(days=90)
    await mesh.inventory.ReceiveBatch(
        inv.ReceiveBatchRequest(
            parent=clinic.name,
            batch_id=number,
            batch=inv.Batch(
                vaccine=vaccine,
                expire_date=expires.isoformat(),
                doses_received=doses,
            ),
            request_id=new_id(),
        )
    )
    return number


async def confirmed(mesh, slot: clin.Slot, **record) -> appt.Appointment:
    citizen = await booker(mesh, **record)
    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, citizen)
    )
    return await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )


async def qr_code(mesh, appointment: appt.Appointment) -> pb.AppointmentQrCode:
    return await mesh.vaccination.GetAppointmentQrCode(
        pb.GetAppointmentQrCodeRequest(name=appointment.name),
        metadata=mesh.token(appointment.citizen),
    )


class Scanner:
    """One scanner device's open stream."""

    def __init__(self, mesh, clinic: clin.Clinic, device_id: str | None = None):
        self.mesh = mesh
        self.clinic = clinic
        self.device_id = device_id or f"device-{new_id()[:8]}"
        self.call = None

    async def __aenter__(self) -> Scanner:
        self.call = self.mesh.vaccination.ScanAppointments(
            metadata=staff_of(self.mesh, self.clinic)
        )
        opened = await self.send(
            pb.ScanAppointmentsRequest(
                open=pb.OpenScanner(clinic=self.clinic.name, device_id=self.device_id)
            )
        )
        assert opened.opened.clinic == self.clinic.name
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.call.done_writing()

    async def send(self, message) -> pb.ScanAppointmentsResponse:
        await self.call.write(message)
        return await self.call.read()

    async def scan(self, token: str, nonce: str | None = None):
        return await self.send(
            pb.ScanAppointmentsRequest(
                nonce=nonce or new_id(), scan=pb.ScanQrCode(token=token)
            )
        )

    async def record(
        self,
        appointment: str,
        number: str,
        nonce: str | None = None,
        given_at: datetime | None = None,
    ):
        record = pb.RecordAdministration(
            appointment=appointment, batch=number, vaccinator="Nurse Asha"
        )
        if given_at is not None:
            record.administer_time.CopyFrom(to_timestamp(given_at))
        return await self.send(
            pb.ScanAppointmentsRequest(nonce=nonce or new_id(), record=record)
        )


async def used(mesh, clinic: clin.Clinic, number: str) -> int:
    found = await mesh.inventory.GetBatch(
        inv.GetBatchRequest(name=f"{clinic.name}/batches/{number}")
    )
    return found.doses_used


async def current(mesh, appointment: appt.Appointment) -> appt.Appointment:
    return await mesh.appointments.GetAppointment(
        appt.GetAppointmentRequest(name=appointment.name)
    )


@pytest.fixture
async def day(mesh):
    """A clinic with a slot today, a batch, and a confirmed appointment."""
    clinic = await make_clinic(mesh)
    slot = await slot_today(mesh, clinic)
    number = await batch(mesh, clinic)
    appointment = await confirmed(
        mesh, slot, allergies=["latex"], display_name="Asha Verma"
    )
    return clinic, slot, number, appointment


# QR codes


async def test_a_confirmed_appointments_code_is_signed_and_its_image_scans_back(
    mesh, day
):
    _, _, _, appointment = day

    code = await qr_code(mesh, appointment)

    assert qr.decode_image(code.png) == [code.token]
    assert code.svg.startswith("<?xml") or code.svg.startswith("<svg")
    claims = qr.verify(code.token, await qr_keys(mesh))
    assert claims.appointment == appointment.name
    assert claims.dose_number == 1 and claims.vaccine == VACCINE
    assert Person.parse(appointment.citizen).account not in claims.citizen_ref
    # The same appointment gives the same code.
    assert (await qr_code(mesh, appointment)).token == code.token


async def test_only_the_citizen_gets_the_code_and_only_once_confirmed(mesh, day):
    _, slot, _, appointment = day
    pending = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, await booker(mesh))
    )

    with pytest.raises(grpc.aio.AioRpcError) as other:
        await mesh.vaccination.GetAppointmentQrCode(
            pb.GetAppointmentQrCodeRequest(name=appointment.name),
            metadata=mesh.token(f"citizens/{new_id()}"),
        )
    with pytest.raises(grpc.aio.AioRpcError) as early:
        await qr_code(mesh, pending)

    assert read_error(other.value).reason == "NOT_OWNER"
    assert read_error(early.value).reason == "NOT_CONFIRMED"


# Scans


async def test_a_valid_code_is_accepted_then_its_dose_recorded_once(
    mesh, day, database_url
):
    clinic, _, number, appointment = day
    token = (await qr_code(mesh, appointment)).token

    async with Scanner(mesh, clinic) as scanner:
        seen = await scanner.scan(token)
        recorded = await scanner.record(appointment.name, number)
        again = await scanner.scan(token)

    assert seen.accepted.appointment == appointment.name
    assert seen.accepted.display_name == "Asha Verma"
    # Showing the record to the staff is a view of personal data, audited.
    views = await events_of(database_url, appointment_outbox, "personal_data_viewed")
    [view] = [v for v in views if v.appointment == appointment.name]
    assert (view.rpc, view.resource) == (SCAN_RPC, f"{appointment.citizen}/patient")
    assert view.actor.startswith("staffAccounts/")
    assert list(seen.accepted.warnings) == ["latex"]
    assert (seen.accepted.vaccine, seen.accepted.dose_number) == (VACCINE, 1)
    assert recorded.recorded.batch == f"{clinic.name}/batches/{number}"
    after = await current(mesh, appointment)
    assert after.state == appt.APPOINTMENT_STATE_ADMINISTERED
    assert after.administration.vaccinator == "Nurse Asha"
    assert await used(mesh, clinic, number) == 1
    assert again.rejected.code == Rejection.SCAN_REJECTION_ALREADY_ADMINISTERED
    assert again.rejected.clinic == clinic.name
    assert again.rejected.HasField("administer_time")
    record = await mesh.patients.GetPatient(
        pat.GetPatientRequest(name=f"{appointment.citizen}/patient")
    )
    assert [(v.vaccine, v.batch) for v in record.vaccinations] == [(VACCINE, number)]


async def test_a_code_with_any_byte_flipped_is_forged(mesh, day):
    clinic, _, _, appointment = day
    token = (await qr_code(mesh, appointment)).token
    raw = bytearray(qr.base45_decode(token.removeprefix(qr.TOKEN_PREFIX)))
    raw[len(raw) // 2] ^= 0x01
    flipped = qr.TOKEN_PREFIX + qr.base45_encode(bytes(raw))

    async with Scanner(mesh, clinic) as scanner:
        verdict = await scanner.scan(flipped)

    assert verdict.rejected.code == Rejection.SCAN_REJECTION_FORGED


async def test_a_code_signed_with_another_key_is_refused(mesh, day):
    clinic, _, _, appointment = day
    trusted = await qr_keys(mesh)
    claims = qr.verify((await qr_code(mesh, appointment)).token, trusted)
    stranger_id, stranger = qr.new_signing_key()
    trusted_id = next(iter(trusted))

    async with Scanner(mesh, clinic) as scanner:
        unknown = await scanner.scan(qr.QrSigner(stranger_id, stranger).sign(claims))
        forged = await scanner.scan(qr.QrSigner(trusted_id, stranger).sign(claims))

    assert unknown.rejected.code == Rejection.SCAN_REJECTION_UNKNOWN_KEY
    assert forged.rejected.code == Rejection.SCAN_REJECTION_FORGED


async def test_a_code_for_another_clinic_or_another_day_is_refused(mesh, day):
    clinic, _, _, appointment = day
    elsewhere = await make_clinic(mesh)
    tomorrow = await make_slot(mesh, clinic, days_ahead=1)
    later = await confirmed(mesh, tomorrow)

    async with Scanner(mesh, elsewhere) as scanner:
        wrong_clinic = await scanner.scan((await qr_code(mesh, appointment)).token)
    async with Scanner(mesh, clinic) as scanner:
        wrong_day = await scanner.scan((await qr_code(mesh, later)).token)

    assert wrong_clinic.rejected.code == Rejection.SCAN_REJECTION_WRONG_CLINIC
    assert wrong_day.rejected.code == Rejection.SCAN_REJECTION_WRONG_DAY


async def test_a_reissued_code_revokes_the_old_and_a_cancelled_one_is_refused(
    mesh, day
):
    clinic, slot, _, appointment = day
    old = (await qr_code(mesh, appointment)).token
    new = await mesh.vaccination.ReissueAppointmentQrCode(
        pb.ReissueAppointmentQrCodeRequest(name=appointment.name, request_id=new_id()),
        metadata=mesh.token(appointment.citizen),
    )
    cancelled = await confirmed(mesh, slot)
    cancelled_token = (await qr_code(mesh, cancelled)).token
    await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=cancelled.name, request_id=new_id())
    )

    async with Scanner(mesh, clinic) as scanner:
        revoked = await scanner.scan(old)
        current_code = await scanner.scan(new.token)
        ended = await scanner.scan(cancelled_token)

    assert new.token != old
    assert revoked.rejected.code == Rejection.SCAN_REJECTION_REVOKED
    assert current_code.accepted.appointment == appointment.name
    assert ended.rejected.code == Rejection.SCAN_REJECTION_CANCELLED


# Batches


async def test_a_batch_expired_of_another_vaccine_or_clinic_is_refused(mesh):
    clinic = await make_clinic(mesh, vaccines=(VACCINE, "covishield"))
    slot = await slot_today(mesh, clinic)
    appointment = await confirmed(mesh, slot)
    elsewhere = await make_clinic(mesh)
    # Good today; the dose below is recorded as given tomorrow.
    batches = {
        "expired": await batch(mesh, clinic, expires=mesh.clock.now().date()),
        "vaccine": await batch(mesh, clinic, vaccine="covishield"),
        "clinic": f"{elsewhere.name}/batches/{await batch(mesh, elsewhere)}",
        "unknown": "NO-SUCH-BATCH",
    }

    async with Scanner(mesh, clinic) as scanner:
        tomorrow = mesh.clock.now() + timedelta(days=1)
        verdicts = {
            why: (
                await scanner.record(appointment.name, number, given_at=tomorrow)
            ).rejected.code
            for why, number in batches.items()
        }

    assert verdicts == {
        "expired": Rejection.SCAN_REJECTION_BATCH_EXPIRED,
        "vaccine": Rejection.SCAN_REJECTION_BATCH_WRONG_VACCINE,
        "clinic": Rejection.SCAN_REJECTION_BATCH_OTHER_CLINIC,
        "unknown": Rejection.SCAN_REJECTION_BATCH_NOT_FOUND,
    }
    assert (await current(mesh, appointment)).state == (
        appt.APPOINTMENT_STATE_CONFIRMED
    )


# Exactly once


async def test_the_same_code_recorded_on_two_scanners_at_once_is_given_once(mesh, day):
    clinic, _, number, appointment = day

    async with Scanner(mesh, clinic) as one, Scanner(mesh, clinic) as other:
        verdicts = await asyncio.gather(
            one.record(appointment.name, number),
            other.record(appointment.name, number),
        )

    kinds = sorted(v.WhichOneof("verdict") for v in verdicts)
    assert kinds == ["recorded", "rejected"]
    [refused] = [v for v in verdicts if v.HasField("rejected")]
    assert refused.rejected.code == Rejection.SCAN_REJECTION_ALREADY_ADMINISTERED
    assert await used(mesh, clinic, number) == 1


async def test_a_message_sent_again_with_its_nonce_is_answered_the_same_once(mesh, day):
    clinic, _, number, appointment = day
    nonce = new_id()

    token = (await qr_code(mesh, appointment)).token

    async with Scanner(mesh, clinic) as scanner:
        seen = await scanner.scan(token, nonce=f"scan-{nonce}")
        first = await scanner.record(appointment.name, number, nonce=nonce)
        resent = await scanner.record(appointment.name, number, nonce=nonce)
        seen_again = await scanner.scan(token, nonce=f"scan-{nonce}")

    assert seen.HasField("accepted")
    assert seen_again == seen
    assert first.HasField("recorded")
    assert resent == first
    assert await used(mesh, clinic, number) == 1


# Offline


async def test_an_offline_bundle_holds_the_keys_the_days_people_and_revocations(
    mesh, day
):
    clinic, slot, _, appointment = day
    cancelled = await confirmed(mesh, slot)
    await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=cancelled.name, request_id=new_id())
    )

    bundle = await mesh.vaccination.GetScannerBundle(
        pb.GetScannerBundleRequest(
            clinic=clinic.name, date=mesh.clock.now().date().isoformat()
        ),
        metadata=staff_of(mesh, clinic),
    )

    keys = {k.key_id: qr.public_key_from_bytes(k.public_key) for k in bundle.keys}
    claims = qr.verify((await qr_code(mesh, appointment)).token, keys)
    listed = {a.person.appointment: a for a in bundle.appointments}
    assert listed[appointment.name].token_id == claims.token_id
    assert list(listed[appointment.name].person.warnings) == ["latex"]
    assert cancelled.name not in listed
    assert f"{cancelled.name.split('/')[1]}.0" in bundle.revoked_token_ids


async def test_a_scanner_offline_judges_codes_by_its_bundle_alone(mesh, day):
    clinic, slot, _, appointment = day
    good = (await qr_code(mesh, appointment)).token
    cancelled = await confirmed(mesh, slot)
    cancelled_token = (await qr_code(mesh, cancelled)).token
    await mesh.appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=cancelled.name, request_id=new_id())
    )
    bundle = await mesh.vaccination.GetScannerBundle(
        pb.GetScannerBundleRequest(
            clinic=clinic.name, date=mesh.clock.now().date().isoformat()
        ),
        metadata=staff_of(mesh, clinic),
    )
    now = mesh.clock.now()

    def verdict(token: str, at=now):
        return offline_verdict(bundle, token, at)

    assert verdict(good).accepted.appointment == appointment.name
    assert verdict(good).accepted.warnings == ["latex"]
    assert verdict(cancelled_token).rejected.code == Rejection.SCAN_REJECTION_REVOKED
    tomorrow = now + timedelta(days=1)
    assert verdict(good, tomorrow).rejected.code == Rejection.SCAN_REJECTION_WRONG_DAY
    assert verdict(good[:-3] + "AAA").rejected.code == Rejection.SCAN_REJECTION_FORGED


async def test_an_offline_upload_after_an_online_record_reports_the_conflict(mesh, day):
    clinic, slot, number, appointment = day
    other = await confirmed(mesh, slot)
    tokens = [(await qr_code(mesh, a)).token for a in (appointment, other)]
    async with Scanner(mesh, clinic) as online:
        await online.record(appointment.name, number)

    uploaded = await mesh.vaccination.UploadScans(
        pb.UploadScansRequest(
            clinic=clinic.name,
            device_id="offline-1",
            administrations=[
                offline_item(token, number, mesh.clock.now()) for token in tokens
            ],
        ),
        metadata=staff_of(mesh, clinic),
    )

    conflict, fresh = uploaded.results
    assert conflict.rejected.code == Rejection.SCAN_REJECTION_ALREADY_ADMINISTERED
    assert conflict.rejected.appointment == appointment.name
    assert fresh.recorded.appointment == other.name
    assert (await current(mesh, other)).state == appt.APPOINTMENT_STATE_ADMINISTERED
    assert await used(mesh, clinic, number) == 2


def offline_item(token: str, number: str, given_at: datetime):
    stamp = Timestamp()
    stamp.FromDatetime(given_at)
    return pb.OfflineAdministration(
        nonce=new_id(),
        token=token,
        batch=number,
        administer_time=stamp,
        vaccinator="Nurse Ravi",
    )


# Walk-ins and access


async def test_a_walk_in_is_booked_on_the_running_slot_through_eligibility(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, start=mesh.clock.now() - timedelta(minutes=5))
    adult, child = await booker(mesh), await booker(mesh, birth_date="2024-01-01")

    def walk_in(citizen: str):
        return mesh.vaccination.BookWalkIn(
            pb.BookWalkInRequest(
                clinic=clinic.name,
                citizen=f"citizens/{citizen}",
                vaccine=VACCINE,
                dose_number=1,
                request_id=new_id(),
            ),
            metadata=staff_of(mesh, clinic),
        )

    booked, refused = await walk_in(adult), await walk_in(child)

    assert booked.state == appt.APPOINTMENT_STATE_CONFIRMED
    assert booked.slot == slot.name
    assert refused.state == appt.APPOINTMENT_STATE_REJECTED
    assert "TOO_YOUNG" in [reason.code for reason in refused.reasons]


async def test_staff_cannot_open_a_scanner_for_another_clinic(mesh, day):
    clinic, _, _, _ = day
    elsewhere = await make_clinic(mesh)
    call = mesh.vaccination.ScanAppointments(metadata=staff_of(mesh, elsewhere))

    await call.write(
        pb.ScanAppointmentsRequest(
            open=pb.OpenScanner(clinic=clinic.name, device_id="d1")
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()

    assert read_error(refused.value).reason == "NOT_OWNER"


# Keys


async def test_a_rotated_key_signs_new_codes_while_old_ones_verify_until_retired(
    mesh, day
):
    clinic, slot, _, before = day
    admin = mesh.token("staffAccounts/keys-admin", Role.ADMIN)
    old_code = await qr_code(mesh, before)

    new_key = await mesh.vaccination.RotateQrKey(
        pb.RotateQrKeyRequest(), metadata=admin
    )
    after = await confirmed(mesh, slot)
    new_code = await qr_code(mesh, after)
    async with Scanner(mesh, clinic) as scanner:
        old_while_trusted = await scanner.scan(old_code.token)
        retired = await mesh.vaccination.RetireQrKey(
            pb.RetireQrKeyRequest(key_id=old_code.key_id), metadata=admin
        )
        old_once_retired = await scanner.scan(old_code.token)
        new_once_old_retired = await scanner.scan(new_code.token)

    assert new_code.key_id == new_key.key_id != old_code.key_id
    assert new_key.public_key == qr.public_key_bytes(
        (await qr_keys(mesh))[new_key.key_id]
    )
    assert old_while_trusted.accepted.appointment == before.name
    assert old_once_retired.rejected.code == Rejection.SCAN_REJECTION_UNKNOWN_KEY
    assert new_once_old_retired.accepted.appointment == after.name
    assert old_code.key_id not in await qr_keys(mesh)
    assert old_code.key_id not in [key.key_id for key in retired.keys]
    assert new_key.key_id in [key.key_id for key in retired.keys]
    # A code once made keeps its key: the old appointment's code is unchanged.
    assert (await qr_code(mesh, before)).token == old_code.token


async def test_only_an_admin_rotates_or_retires_keys_and_never_the_signing_one(
    mesh, day
):
    clinic, _, _, _ = day
    admin = mesh.token("staffAccounts/keys-admin", Role.ADMIN)
    signing = (
        await mesh.vaccination.RotateQrKey(pb.RotateQrKeyRequest(), metadata=admin)
    ).key_id

    refusals = {}
    for label, metadata in (
        ("staff", staff_of(mesh, clinic)),
        ("citizen", mesh.token("citizens/someone")),
    ):
        for rpc, call, request in (
            ("rotate", mesh.vaccination.RotateQrKey, pb.RotateQrKeyRequest()),
            (
                "retire",
                mesh.vaccination.RetireQrKey,
                pb.RetireQrKeyRequest(key_id=signing),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(request, metadata=metadata)
            refusals[label, rpc] = refused.value.code()
    with pytest.raises(grpc.aio.AioRpcError) as active:
        await mesh.vaccination.RetireQrKey(
            pb.RetireQrKeyRequest(key_id=signing), metadata=admin
        )
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await mesh.vaccination.RetireQrKey(
            pb.RetireQrKeyRequest(key_id="0123456789abcdef"), metadata=admin
        )
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await mesh.vaccination.RetireQrKey(pb.RetireQrKeyRequest(), metadata=admin)

    assert set(refusals.values()) == {grpc.StatusCode.PERMISSION_DENIED}
    assert len(refusals) == 4
    assert active.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert read_error(active.value).reason == "QR_KEY_ACTIVE"
    assert signing in await qr_keys(mesh)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(read_error(empty.value).field_violations) == {"key_id"}


async def test_a_record_with_a_malformed_batch_or_no_vaccinator_is_invalid(mesh, day):
    clinic, _, _, appointment = day

    async with Scanner(mesh, clinic) as scanner:
        verdict = await scanner.send(
            pb.ScanAppointmentsRequest(
                nonce=new_id(),
                record=pb.RecordAdministration(
                    appointment=appointment.name, batch="no such/batch!", vaccinator=" "
                ),
            )
        )

    assert verdict.rejected.code == Rejection.SCAN_REJECTION_INVALID
    assert "record.batch" in verdict.rejected.message
    assert "record.vaccinator" in verdict.rejected.message
    assert (await current(mesh, appointment)).state == (
        appt.APPOINTMENT_STATE_CONFIRMED
    )
