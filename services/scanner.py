"""``vaxbook scan``: the reference clinic scanner.

Online, it opens the scanner stream for the clinic the code names (or the one
given), sends the scan, prints who the code is for and what to check, then
records the dose from the batch given and prints the verdict. Offline, it
first saves the day's bundle (``--save-bundle``); with ``--bundle`` it then
checks codes against that file alone, public keys included, and queues what
it records (``--queue``), which ``--upload`` sends once the connection is
back, printing the server's verdict on each.

The scanner acts with an operator's service token, as ``vaxbook seed`` does;
a clinic's own device would sign in as its staff.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf import json_format
from vaxbook.appointment.v1 import vaccination_pb2 as pb
from vaxbook.appointment.v1 import vaccination_pb2_grpc

from services.common import qr
from services.common.access import ServiceTokens, service_signer
from services.common.clock import SystemClock, to_timestamp
from services.common.config import Settings
from services.common.errors import read_error

CALL_TIMEOUT_SECONDS = 10.0
DEVICE_ID = "vaxbook-reference-scanner"


def read_token(args) -> str:
    """The code's text: given as is, or read from an image."""
    if args.token:
        return args.token.strip()
    found = qr.decode_image(Path(args.image).read_bytes())
    if not found:
        raise SystemExit(f"no QR code found in {args.image}")
    return found[0]


def scan(settings: Settings, args) -> int:
    """Runs the scanner as the arguments say; 0 when the dose was recorded
    (or queued, or the bundle saved, or every upload recorded)."""
    if args.bundle:
        return _scan_offline(args)
    if args.save_bundle:
        bundle = _online(settings, _fetch_bundle, args)
        if bundle is None:
            return 1
        Path(args.save_bundle).write_text(json_format.MessageToJson(bundle))
        print(
            f"bundle     {len(bundle.appointments)} appointments, "
            f"{len(bundle.revoked_token_ids)} revoked codes, {len(bundle.keys)} "
            f"keys saved to {args.save_bundle}"
        )
        return 0
    if args.upload:
        lines = Path(args.upload).read_text().splitlines()
        items = [
            json_format.Parse(line, pb.OfflineAdministration())
            for line in lines
            if line
        ]
        if not items:
            print(f"nothing queued in {args.upload}")
            return 0
        replies = _online(settings, _upload, args, items)
        if replies is None:
            return 1
        for reply in replies:
            print_verdict(reply)
        return 0 if all(r.HasField("recorded") for r in replies) else 1
    recorded = _online(settings, _scan_online, args, read_token(args))
    return 0 if recorded else 1


def _online(settings: Settings, step, *args):
    """Runs ``step(stub, operator, *args)`` against the appointment service;
    ``None`` when a call is refused (the refusal is printed)."""

    async def run():
        operator = ServiceTokens(
            service_signer(settings.service_key, SystemClock()), "cli"
        )
        address = settings.service_addrs["appointment"]
        async with grpc.aio.insecure_channel(address) as channel:
            stub = vaccination_pb2_grpc.VaccinationServiceStub(channel)
            try:
                return await step(stub, operator, *args)
            except grpc.aio.AioRpcError as error:
                details = read_error(error)
                print(
                    f"refused: {details.code.name} {details.reason}: {details.message}"
                )
                return None

    return asyncio.run(run())


# Online


async def _scan_online(stub, operator, args, token: str) -> bool:
    clinic = args.clinic or _clinic_named_in(token)
    call = stub.ScanAppointments(metadata=operator.metadata())
    try:
        await _send(
            call,
            pb.ScanAppointmentsRequest(
                open=pb.OpenScanner(clinic=clinic, device_id=args.device)
            ),
        )
        seen = await _send(
            call,
            pb.ScanAppointmentsRequest(nonce=_nonce(), scan=pb.ScanQrCode(token=token)),
        )
        print_verdict(seen)
        if not seen.HasField("accepted"):
            return False
        record = pb.RecordAdministration(
            appointment=seen.accepted.appointment,
            batch=args.batch,
            vaccinator=args.vaccinator,
        )
        recorded = await _send(
            call, pb.ScanAppointmentsRequest(nonce=_nonce(), record=record)
        )
        print_verdict(recorded)
        return recorded.HasField("recorded")
    finally:
        await call.done_writing()


async def _send(call, message) -> pb.ScanAppointmentsResponse:
    await call.write(message)
    return await call.read()


def print_verdict(reply: pb.ScanAppointmentsResponse) -> None:
    kind = reply.WhichOneof("verdict")
    if kind == "accepted":
        who = reply.accepted
        name = who.display_name or "(no name on record)"
        print(f"accepted   {name}, born {who.birth_date or '?'} ({who.person})")
        print(f"           {who.vaccine} dose {who.dose_number}; {who.appointment}")
        warnings = ", ".join(who.warnings) or "none"
        print(f"           check before giving: {warnings}")
    elif kind == "recorded":
        done = reply.recorded
        print(
            f"recorded   {done.appointment} ADMINISTERED from {done.batch} at "
            f"{done.administer_time.ToJsonString()} by {done.vaccinator}"
        )
    elif kind == "rejected":
        refused = reply.rejected
        code = pb.ScanRejection.Name(refused.code).removeprefix("SCAN_REJECTION_")
        print(f"refused    {code}: {refused.message}")
        if refused.HasField("administer_time"):
            print(
                f"           given {refused.administer_time.ToJsonString()} "
                f"at {refused.clinic}"
            )


# Offline


async def _fetch_bundle(stub, operator, args) -> pb.ScannerBundle:
    return await stub.GetScannerBundle(
        pb.GetScannerBundleRequest(
            clinic=args.clinic, date=args.date or datetime.now(UTC).date().isoformat()
        ),
        metadata=operator.metadata(),
        timeout=CALL_TIMEOUT_SECONDS,
    )


def _scan_offline(args) -> int:
    """Checks the code against the bundle alone and queues the dose."""
    bundle = json_format.Parse(Path(args.bundle).read_text(), pb.ScannerBundle())
    token = read_token(args)
    verdict = offline_verdict(bundle, token, datetime.now(UTC))
    print_verdict(verdict)
    if not verdict.HasField("accepted"):
        return 1
    queued = pb.OfflineAdministration(
        nonce=_nonce(),
        token=token,
        batch=args.batch,
        administer_time=to_timestamp(datetime.now(UTC)),
        vaccinator=args.vaccinator,
    )
    with Path(args.queue).open("a") as queue:
        queue.write(json_format.MessageToJson(queued, indent=None) + "\n")
    print(f"queued     for upload in {args.queue}")
    return 0


def offline_verdict(
    bundle: pb.ScannerBundle, token: str, now: datetime
) -> pb.ScanAppointmentsResponse:
    """What the scanner can tell from the bundle without the server."""
    keys = {k.key_id: qr.public_key_from_bytes(k.public_key) for k in bundle.keys}
    reply = pb.ScanAppointmentsResponse()
    try:
        claims = qr.verify(token, keys)
    except qr.QrRejected as rejected:
        code = f"SCAN_REJECTION_{rejected.code}"
        reply.rejected.CopyFrom(
            pb.ScanRejected(code=pb.ScanRejection.Value(code), message=rejected.message)
        )
        return reply
    listed = {a.token_id: a for a in bundle.appointments}
    problem = None
    if claims.clinic != bundle.clinic:
        problem = ("WRONG_CLINIC", f"this appointment is at {claims.clinic}")
    elif not qr.on_slot_day(
        claims.slot_start_time.ToDatetime(tzinfo=UTC),
        claims.slot_end_time.ToDatetime(tzinfo=UTC),
        now,
    ):
        problem = ("WRONG_DAY", "this appointment is on another day")
    elif claims.token_id in bundle.revoked_token_ids:
        problem = ("REVOKED", "this code was cancelled or replaced")
    elif claims.token_id not in listed:
        problem = ("REVOKED", "this code is not among the day's appointments")
    if problem is not None:
        code, message = problem
        reply.rejected.CopyFrom(
            pb.ScanRejected(
                code=pb.ScanRejection.Value(f"SCAN_REJECTION_{code}"),
                message=message,
                appointment=claims.appointment,
            )
        )
        return reply
    reply.accepted.CopyFrom(listed[claims.token_id].person)
    return reply


async def _upload(stub, operator, args, items) -> list:
    clinic = args.clinic or _clinic_named_in(items[0].token)
    answer = await stub.UploadScans(
        pb.UploadScansRequest(
            clinic=clinic, device_id=args.device, administrations=items
        ),
        metadata=operator.metadata(),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    return list(answer.results)


# Helpers


def _clinic_named_in(token: str) -> str:
    """The clinic a code names, read without checking its signature (the
    server checks it)."""
    try:
        return qr.unverified_claims(token).clinic
    except qr.QrRejected as rejected:
        raise SystemExit(f"not a vaxbook QR code: {rejected.message}") from None


def _nonce() -> str:
    return uuid.uuid4().hex
