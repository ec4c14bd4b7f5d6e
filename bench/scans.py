"""Scans a second over one scanner stream.

A clinic gets a session running now and confirmed appointments in it; their
QR codes are then scanned over a single ``ScanAppointments`` stream for the
measured window, each scan with a fresh nonce so every one is verified in
full (signature, appointment, person). The scanner keeps many scans in flight
and counts the answers, as a busy clinic's device would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import grpc
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import vaccination_pb2 as pb
from vaxbook.appointment.v1 import vaccination_pb2_grpc

from bench.scenarios import MeshClient, bench_tokens
from tests.mesh import bookers, make_clinic, make_slot, reserve_request

# Appointments whose codes the stream cycles through.
APPOINTMENTS = 200
# Scans sent ahead of their answers.
IN_FLIGHT = 256


@dataclass(frozen=True)
class ScanResult:
    scans_per_second: float
    accepted: int
    refused: dict[str, int]


async def scan_codes(mesh: MeshClient, channel, count: int = APPOINTMENTS) -> tuple:
    """A clinic, and the codes of ``count`` confirmed appointments in the
    session it runs now."""
    clinic = await make_clinic(mesh, doses=count)
    slot = await make_slot(
        mesh, clinic, capacity=count, start=mesh.clock.now() - timedelta(minutes=1)
    )
    stub = vaccination_pb2_grpc.VaccinationServiceStub(channel)
    citizens = await bookers(mesh, count)

    async def code(citizen: str) -> str:
        reserved = await mesh.appointments.ReserveAppointment(
            reserve_request(slot, citizen)
        )
        await mesh.appointments.ConfirmAppointment(
            appt.ConfirmAppointmentRequest(
                name=reserved.name, request_id=uuid.uuid4().hex
            )
        )
        found = await stub.GetAppointmentQrCode(
            pb.GetAppointmentQrCodeRequest(name=reserved.name)
        )
        return found.token

    tokens = await asyncio.gather(*(code(c) for c in citizens))
    return clinic, tokens


async def measure_scans(
    channel, clinic_name: str, tokens: list[str], warmup_s: float, duration_s: float
) -> ScanResult:
    """Scans the codes round and round over one stream; counts the answers
    that arrive within the measured window."""
    stub = vaccination_pb2_grpc.VaccinationServiceStub(channel)
    call = stub.ScanAppointments(metadata=bench_tokens().metadata())
    await call.write(
        pb.ScanAppointmentsRequest(
            open=pb.OpenScanner(clinic=clinic_name, device_id="bench-scanner")
        )
    )
    await call.read()
    room = asyncio.Semaphore(IN_FLIGHT)
    stop_at = time.monotonic() + warmup_s + duration_s
    counted = Counted(time.monotonic() + warmup_s, stop_at)

    async def send() -> None:
        index = 0
        while time.monotonic() < stop_at:
            await room.acquire()
            await call.write(
                pb.ScanAppointmentsRequest(
                    nonce=uuid.uuid4().hex,
                    scan=pb.ScanQrCode(token=tokens[index % len(tokens)]),
                )
            )
            index += 1
        await call.done_writing()

    async def receive() -> None:
        while True:
            reply = await call.read()
            if reply is grpc.aio.EOF:
                return
            room.release()
            counted.add(reply)

    await asyncio.gather(send(), receive())
    return counted.result(duration_s)


class Counted:
    """Answers that arrived inside the measured window, by verdict."""

    def __init__(self, start: float, stop: float) -> None:
        self.start, self.stop = start, stop
        self.accepted = 0
        self.refused: dict[str, int] = {}

    def add(self, reply: pb.ScanAppointmentsResponse) -> None:
        now = time.monotonic()
        if not self.start <= now < self.stop:
            return
        if reply.HasField("accepted"):
            self.accepted += 1
            return
        code = pb.ScanRejection.Name(reply.rejected.code)
        self.refused[code] = self.refused.get(code, 0) + 1

    def result(self, duration_s: float) -> ScanResult:
        total = self.accepted + sum(self.refused.values())
        return ScanResult(total / duration_s, self.accepted, self.refused)
