"""Booking data and scenarios against the running services.

Clinics, slots and dose stock are made with the builders of ``tests.mesh``,
through a client shaped like its ``Mesh`` but pointing at service processes.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2_grpc
from vaxbook.patient.v1 import patient_pb2_grpc

from bench.checks import UsedSlot
from bench.processes import ServiceEnvironment
from services.common.access import ServiceTokens, service_signer, token_channel
from services.common.clock import Clock, SystemClock
from services.common.config import DEV_SERVICE_KEY
from services.common.errors import read_error
from tests.mesh import bookers, make_clinic, make_slot, reserve_request

# The vaccine every bench clinic offers: the default of the tests.mesh builders.
VACCINE = "comirnaty"
RESERVED = "RESERVED"
CONTENTION_CALL_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class MeshClient:
    """Stubs of the services and the clock slots are placed by."""

    clock: Clock
    clinics: clinic_pb2_grpc.ClinicServiceStub
    inventory: inventory_pb2_grpc.InventoryServiceStub
    appointments: appointment_pb2_grpc.AppointmentServiceStub
    patients: patient_pb2_grpc.PatientServiceStub


def bench_tokens() -> ServiceTokens:
    """Service tokens, signed with the key the service processes share: the
    bench books as a government system would."""
    key = os.environ.get("VAXBOOK_SERVICE_KEY") or DEV_SERVICE_KEY
    return ServiceTokens(service_signer(key, SystemClock()), "bench")


@asynccontextmanager
async def connected_mesh(environment: ServiceEnvironment) -> AsyncIterator[MeshClient]:
    tokens = bench_tokens()
    channels = {
        name: token_channel(environment.address(name), tokens)
        for name in ("clinic", "inventory", "appointment", "patient")
    }
    try:
        yield MeshClient(
            SystemClock(),
            clinic_pb2_grpc.ClinicServiceStub(channels["clinic"]),
            inventory_pb2_grpc.InventoryServiceStub(channels["inventory"]),
            appointment_pb2_grpc.AppointmentServiceStub(channels["appointment"]),
            patient_pb2_grpc.PatientServiceStub(channels["patient"]),
        )
    finally:
        for channel in channels.values():
            await channel.close()


async def open_slots(
    mesh: MeshClient, clinics: int, slots_per_clinic: int, capacity: int
) -> list[clin.Slot]:
    """Clinics with ``slots_per_clinic`` slots each, stocked with a dose a seat."""
    slots = []
    for _ in range(clinics):
        clinic = await make_clinic(mesh, doses=slots_per_clinic * capacity)
        for day in range(slots_per_clinic):
            slot = await make_slot(mesh, clinic, capacity=capacity, days_ahead=2 + day)
            slots.append(slot)
    return slots


def used_by_appointments(slots: list[clin.Slot]) -> list[UsedSlot]:
    return [UsedSlot.from_name(slot.name, VACCINE, True) for slot in slots]


@dataclass(frozen=True)
class ContentionResult:
    slot: clin.Slot
    outcomes: Counter[str]

    @property
    def reserved(self) -> int:
        return self.outcomes[RESERVED]

    def refusals(self) -> dict[str, int]:
        return {k: n for k, n in self.outcomes.items() if k != RESERVED}


async def contend_for_seats(
    mesh: MeshClient, seats: int, citizens: int
) -> ContentionResult:
    """``citizens`` distinct citizens reserve a slot of ``seats`` all at once."""
    [slot] = await open_slots(mesh, clinics=1, slots_per_clinic=1, capacity=seats)
    people = await bookers(mesh, citizens)
    outcomes = await asyncio.gather(*(_reserve(mesh, slot, c) for c in people))
    return ContentionResult(slot, Counter(outcomes))


async def _reserve(mesh: MeshClient, slot: clin.Slot, citizen: str) -> str:
    """RESERVED, or the refusal's reason code (its status code if it has none)."""
    try:
        await mesh.appointments.ReserveAppointment(
            reserve_request(slot, citizen), timeout=CONTENTION_CALL_TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as error:
        return read_error(error).reason or error.code().name
    return RESERVED
