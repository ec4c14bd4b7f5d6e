"""gRPC transport of the vaccination day: QR codes, the scanner stream,
offline bundles and uploads, and walk-ins."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
from vaxbook.appointment.v1 import vaccination_pb2 as pb
from vaxbook.appointment.v1 import vaccination_pb2_grpc

from services.appointment.booking import Booking, ReserveRequest
from services.appointment.qr_codes import QrIssuer, token_id
from services.appointment.scan_store import ScanStore
from services.appointment.scanning import Refused, Scanning, Station
from services.appointment.servicer import _appointment, _booker_guard
from services.appointment.slots import SlotDirectory
from services.common import logs, qr
from services.common.auth import (
    PUBLIC,
    Role,
    current_principal,
    require_clinic,
)
from services.common.clock import to_timestamp
from services.common.errors import DomainError, NotFound, Unavailable
from services.common.grpc_clients import timeout
from services.common.names import (
    APPOINTMENT,
    BATCH,
    BATCH_NUMBER,
    CLINIC,
    check_person,
)
from services.common.validation import checking

log = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["VaccinationService"].full_name
_CITIZENS = {Role.CITIZEN, Role.SERVICE, Role.ADMIN}
_STAFF = {Role.CLINIC_STAFF, Role.SERVICE, Role.ADMIN}
ACCESS_POLICY = {
    f"/{SERVICE}/GetAppointmentQrCode": _CITIZENS,
    f"/{SERVICE}/ReissueAppointmentQrCode": _CITIZENS,
    f"/{SERVICE}/ListQrKeys": PUBLIC,
    f"/{SERVICE}/RotateQrKey": {Role.ADMIN},
    f"/{SERVICE}/RetireQrKey": {Role.ADMIN},
    f"/{SERVICE}/ScanAppointments": _STAFF,
    f"/{SERVICE}/GetScannerBundle": _STAFF,
    f"/{SERVICE}/UploadScans": _STAFF,
    f"/{SERVICE}/BookWalkIn": _STAFF,
}
# Messages of one stream decided at once.
IN_FLIGHT = 256
# Scan replies kept in memory for resent nonces.
SCAN_REPLIES_KEPT = 100_000
MAX_NONCE_LENGTH = 128
MAX_DEVICE_ID_LENGTH = 128
MAX_VACCINATOR_LENGTH = 200
MAX_TOKEN_LENGTH = 2000
MAX_UPLOAD = 500
MAX_DOSE_NUMBER = 10
VACCINE_MAX_LENGTH = 64
Rejection = pb.ScanRejection


class VaccinationServicer(vaccination_pb2_grpc.VaccinationServiceServicer):
    def __init__(
        self,
        booking: Booking,
        scanning: Scanning,
        scans: ScanStore,
        issuer: QrIssuer,
        slots: SlotDirectory,
    ) -> None:
        self.booking = booking
        self.scanning = scanning
        self.scans = scans
        self.issuer = issuer
        self.slots = slots
        self._scan_replies = Recent(SCAN_REPLIES_KEPT)

    # QR codes

    async def GetAppointmentQrCode(self, request, context) -> pb.AppointmentQrCode:
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
        row = await self.booking.get(ids["appointment"], guard=_booker_guard)
        _require_confirmed(row)
        return await self._qr_code(row)

    async def ReissueAppointmentQrCode(self, request, context):
        with checking() as check:
            ids = check.name("name", request.name, APPOINTMENT)
            check.request_id(request.request_id)
        row = await self.booking.get(ids["appointment"], guard=_booker_guard)
        _require_confirmed(row)
        row = await self.scans.reissue(
            row.id, self.issuer.active_key_id, self.booking.clock.now()
        )
        if row is None:
            raise _not_confirmed(request.name)
        return await self._qr_code(row)

    async def ListQrKeys(self, request, context) -> pb.ListQrKeysResponse:
        return pb.ListQrKeysResponse(keys=_keys(self.issuer))

    async def RotateQrKey(self, request, context) -> pb.QrKey:
        key_id = await self.issuer.rotate()
        public_key = self.issuer.public_keys()[key_id]
        return pb.QrKey(key_id=key_id, public_key=qr.public_key_bytes(public_key))

    async def RetireQrKey(self, request, context) -> pb.RetireQrKeyResponse:
        with checking() as check:
            check.text("key_id", request.key_id, qr.KEY_ID_HEX_DIGITS)
        # A rotation made on another replica may not have reached this one.
        await self.issuer.reload()
        if request.key_id == self.issuer.active_key_id:
            raise DomainError(
                "QR_KEY_ACTIVE",
                f"key {request.key_id!r} signs new codes; rotate to a new key "
                "before retiring it",
            )
        if request.key_id not in self.issuer.public_keys():
            raise NotFound("qr_key", request.key_id)
        await self.issuer.retire(request.key_id)
        log.info("qr signing key retired", extra={"fields": {"key_id": request.key_id}})
        return pb.RetireQrKeyResponse(keys=_keys(self.issuer))

    async def _qr_code(self, row) -> pb.AppointmentQrCode:
        if row.qr_key_id not in self.issuer.public_keys():
            await self.issuer.reload()
        token = self.issuer.token(row)
        return pb.AppointmentQrCode(
            appointment=APPOINTMENT.format(appointment=row.id),
            token=token,
            png=qr.render_png(token),
            svg=qr.render_svg(token),
            key_id=row.qr_key_id,
        )

    # The scanner stream

    async def ScanAppointments(
        self, request_iterator, context
    ) -> AsyncIterator[pb.ScanAppointmentsResponse]:
        messages = request_iterator.__aiter__()
        first = await anext(messages, None)
        if first is None:
            return
        station, opened = await self._open(first)
        yield opened
        replies: asyncio.Queue = asyncio.Queue()
        reader = asyncio.create_task(self._answer_all(messages, station, replies))
        try:
            while (reply := await replies.get()) is not None:
                yield reply
        finally:
            reader.cancel()
        await reader

    async def _answer_all(self, messages, station: Station, replies) -> None:
        """Answers each message as it arrives, up to ``IN_FLIGHT`` at once,
        then marks the end of the replies."""
        room = asyncio.Semaphore(IN_FLIGHT)

        async def answer(message) -> None:
            try:
                await replies.put(await self._answer(message, station))
            finally:
                room.release()

        try:
            async with asyncio.TaskGroup() as group:
                async for message in messages:
                    await room.acquire()
                    group.create_task(answer(message))
        finally:
            await replies.put(None)

    async def _open(self, message) -> tuple[Station, pb.ScanAppointmentsResponse]:
        if message.WhichOneof("kind") != "open":
            raise _invalid("the first message must be `open`")
        opened = message.open
        with checking() as check:
            ids = check.name("open.clinic", opened.clinic, CLINIC)
            check.text("open.device_id", opened.device_id, MAX_DEVICE_ID_LENGTH)
        principal = require_clinic(opened.clinic, opened.clinic)
        station = Station(ids["clinic"], opened.device_id, principal)
        logs.bind(device_id=opened.device_id)
        return station, pb.ScanAppointmentsResponse(
            opened=pb.ScannerOpened(clinic=opened.clinic, device_id=opened.device_id)
        )

    async def _answer(self, message, station: Station) -> pb.ScanAppointmentsResponse:
        """The reply to one message, the same as before for a nonce seen.

        A record's reply is kept in the database, with the change it made;
        a scan changes nothing, so its reply is kept in memory only, for a
        resend on the same replica (elsewhere it is decided again)."""
        nonce = message.nonce
        if not nonce or len(nonce) > MAX_NONCE_LENGTH:
            return _rejected(nonce, f"nonce must be 1 to {MAX_NONCE_LENGTH} characters")
        if message.WhichOneof("kind") == "scan":
            key = (station.device_id, nonce)
            reply = self._scan_replies.get(key)
            if reply is None:
                reply = await self._decide_or_try_again(message, station)
                if not _try_again(reply):
                    self._scan_replies.put(key, reply)
            return reply
        kept = await self.scans.reply_for(station.device_id, nonce)
        if kept is not None:
            return pb.ScanAppointmentsResponse.FromString(kept)
        reply = await self._decide_or_try_again(message, station)
        if _try_again(reply):
            # Not kept: the same message sent again tries again.
            return reply
        kept = await self.scans.keep_reply(
            station.device_id,
            nonce,
            station.clinic_id,
            reply.SerializeToString(),
            self.booking.clock.now(),
        )
        return pb.ScanAppointmentsResponse.FromString(kept)

    async def _decide_or_try_again(self, message, station: Station):
        try:
            return await self._decide(message, station)
        except Unavailable as error:
            return _rejected(
                message.nonce, error.message, Rejection.SCAN_REJECTION_TRY_AGAIN
            )

    async def _decide(self, message, station: Station) -> pb.ScanAppointmentsResponse:
        reply = pb.ScanAppointmentsResponse(nonce=message.nonce)
        kind = message.WhichOneof("kind")
        try:
            if kind == "scan":
                reply.accepted.CopyFrom(
                    await self.scanning.scan(message.scan.token, station)
                )
            elif kind == "record":
                _check_record(message.record)
                request_id = f"{station.device_id}:{message.nonce}"
                reply.recorded.CopyFrom(
                    await self.scanning.record(message.record, station, request_id)
                )
            else:
                raise Refused(
                    Rejection.SCAN_REJECTION_INVALID,
                    "send `scan` or `record` once the stream is open",
                )
        except Refused as refused:
            reply.rejected.CopyFrom(refused.reply())
        except Unavailable:
            raise
        except DomainError as error:
            reply.rejected.CopyFrom(
                pb.ScanRejected(
                    code=Rejection.SCAN_REJECTION_INVALID,
                    message=f"{error.reason}: {error.message}",
                )
            )
        return reply

    # Offline scanning

    async def GetScannerBundle(self, request, context) -> pb.ScannerBundle:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            day = check.day("date", request.date)
        require_clinic(request.clinic, request.clinic)
        start = datetime.combine(day, datetime.min.time(), UTC)
        rows = await self.scans.issued_at_clinic(
            ids["clinic"], start, start + timedelta(days=1)
        )
        live = [row for row in rows if row.state == "CONFIRMED"]
        people = await self.scanning.people(live, current_principal())
        return pb.ScannerBundle(
            clinic=request.clinic,
            date=request.date,
            keys=_keys(self.issuer),
            revoked_token_ids=_revoked(rows),
            appointments=[
                pb.BundledAppointment(
                    person=person, token_id=token_id(row.id, row.qr_generation)
                )
                for row, person in zip(live, people, strict=True)
            ],
            create_time=to_timestamp(self.booking.clock.now()),
        )

    async def UploadScans(self, request, context) -> pb.UploadScansResponse:
        with checking() as check:
            ids = check.name("clinic", request.clinic, CLINIC)
            check.text("device_id", request.device_id, MAX_DEVICE_ID_LENGTH)
            check.between(
                "administrations", len(request.administrations), 1, MAX_UPLOAD
            )
        principal = require_clinic(request.clinic, request.clinic)
        station = Station(ids["clinic"], request.device_id, principal)
        # Recorded in the order the doses were given; answered as sent.
        order = sorted(
            range(len(request.administrations)),
            key=lambda i: (
                request.administrations[i].administer_time.ToNanoseconds(),
                request.administrations[i].nonce,
            ),
        )
        answers: dict[int, pb.ScanAppointmentsResponse] = {}
        for index in order:
            item = request.administrations[index]
            answers[index] = await self._answer_offline(item, station)
        return pb.UploadScansResponse(
            results=[answers[i] for i in range(len(request.administrations))]
        )

    async def _answer_offline(self, item, station: Station):
        """An offline record: its code checked as a scan would be (but for
        the day, which has passed by the upload), then recorded."""
        message = pb.ScanAppointmentsRequest(nonce=item.nonce)
        try:
            claims = self.scanning.verified(item.token)
        except Refused as refused:
            return pb.ScanAppointmentsResponse(
                nonce=item.nonce, rejected=refused.reply()
            )
        message.record.CopyFrom(
            pb.RecordAdministration(
                appointment=claims.appointment,
                batch=item.batch,
                administer_time=item.administer_time,
                vaccinator=item.vaccinator,
            )
        )
        return await self._answer(message, station)

    # Walk-ins

    async def BookWalkIn(self, request, context):
        with checking() as check:
            check.name("clinic", request.clinic, CLINIC)
            person = check_person(check, "citizen", request.citizen)
            check.text("vaccine", request.vaccine, VACCINE_MAX_LENGTH)
            check.between("dose_number", request.dose_number, 1, MAX_DOSE_NUMBER)
            check.request_id(request.request_id)
        require_clinic(request.clinic, request.clinic)
        now = self.booking.clock.now()
        slot = await self.slots.running_at(
            request.clinic, request.vaccine, now, timeout(context)
        )
        if slot is None:
            raise NotFound("running slot", f"{request.clinic} now")
        row = await self.booking.reserve(
            ReserveRequest(
                person=person,
                slot_name=slot.name,
                vaccine=request.vaccine,
                dose_number=request.dose_number,
                request_id=request.request_id,
            ),
            timeout(context),
        )
        if row.state == "PENDING" and row.eligibility in ("PASSED", "PROVISIONAL"):
            row = await self.booking.confirm(row.id, timeout(context))
        return _appointment(row)


class Recent:
    """The last ``size`` entries put, by key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict = OrderedDict()

    def get(self, key):
        return self._entries.get(key)

    def put(self, key, value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _try_again(reply: pb.ScanAppointmentsResponse) -> bool:
    return reply.rejected.code == Rejection.SCAN_REJECTION_TRY_AGAIN


def _keys(issuer: QrIssuer) -> list[pb.QrKey]:
    return [
        pb.QrKey(key_id=key_id, public_key=qr.public_key_bytes(public_key))
        for key_id, public_key in reversed(issuer.public_keys().items())
    ]


def _revoked(rows) -> list[str]:
    """Every code of these appointments that must be refused: all of an
    ended appointment's, and a live one's replaced generations."""
    revoked = []
    for row in rows:
        last = row.qr_generation if row.state != "CONFIRMED" else row.qr_generation - 1
        revoked += [token_id(row.id, g) for g in range(last + 1)]
    return revoked


def _check_record(record: pb.RecordAdministration) -> None:
    problems = []
    if not APPOINTMENT.parse(record.appointment):
        problems.append("record.appointment must be `appointments/{appointment}`")
    if not (BATCH.parse(record.batch) or re.fullmatch(BATCH_NUMBER, record.batch)):
        problems.append(
            "record.batch must be the batch number on the vial (1-64 letters, "
            "digits, '.', '_' or '-') or `clinics/{clinic}/batches/{batch}`"
        )
    vaccinator = record.vaccinator.strip()
    if not vaccinator or len(vaccinator) > MAX_VACCINATOR_LENGTH:
        problems.append(
            f"record.vaccinator must be 1 to {MAX_VACCINATOR_LENGTH} characters"
        )
    if problems:
        raise Refused(Rejection.SCAN_REJECTION_INVALID, "; ".join(problems))


def _rejected(
    nonce: str, message: str, code: pb.ScanRejection = Rejection.SCAN_REJECTION_INVALID
) -> pb.ScanAppointmentsResponse:
    return pb.ScanAppointmentsResponse(
        nonce=nonce, rejected=pb.ScanRejected(code=code, message=message)
    )


def _require_confirmed(row) -> None:
    if row.state != "CONFIRMED" or row.confirm_time is None:
        raise _not_confirmed(APPOINTMENT.format(appointment=row.id))


def _not_confirmed(name: str) -> DomainError:
    return DomainError(
        "NOT_CONFIRMED", f"{name} has a QR code only while it is CONFIRMED"
    )


def _invalid(message: str) -> DomainError:
    return DomainError(
        "SCANNER_NOT_OPEN", message, code=grpc.StatusCode.INVALID_ARGUMENT
    )
