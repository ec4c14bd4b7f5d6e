"""An in-process vaxbook mesh for tests: every service on port 0, one clock.

Stubs carry a service token unless a call passes its own ``metadata``;
``mesh.token(...)`` mints tokens for any principal to test access rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import grpc
from sqlalchemy import select
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import (
    appointment_pb2_grpc,
    vaccination_pb2,
    vaccination_pb2_grpc,
)
from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.eligibility.v1 import eligibility_pb2_grpc
from vaxbook.events.v1 import events_pb2
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc
from vaxbook.patient.v1 import patient_pb2 as pat
from vaxbook.patient.v1 import patient_pb2_grpc

from services.appointment import app as appointment_app
from services.auth import app as auth_app
from services.clinic import app as clinic_app
from services.common import qr
from services.common.access import ServiceTokens, service_signer, token_channel
from services.common.auth import Principal, Role, bearer
from services.common.clock import FakeClock, to_timestamp
from services.common.config import Settings
from services.common.db import create_engine
from services.common.grpc_clients import channel
from services.common.server import RunningServer, create_server
from services.eligibility import app as eligibility_app
from services.eligibility.config import InsuranceSettings
from services.inventory import app as inventory_app
from services.patient import app as patient_app

# How many patient records the builders create at once.
RECORDS_IN_FLIGHT = 50


@dataclass
class Mesh:
    """Running services, their stubs, and the clock they share."""

    clock: FakeClock
    service_tokens: ServiceTokens
    servers: dict[str, RunningServer] = field(default_factory=dict)
    servicers: dict[str, object] = field(default_factory=dict)
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    shared_channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def channel(self, service: str) -> grpc.aio.Channel:
        """The channel to ``service``, shared by every stub; its calls carry a
        service token unless they pass their own ``authorization`` metadata."""
        if service not in self.shared_channels:
            self.shared_channels[service] = token_channel(
                f"127.0.0.1:{self.servers[service].port}", self.service_tokens
            )
            self.channels.append(self.shared_channels[service])
        return self.shared_channels[service]

    def anonymous(self, service: str) -> grpc.aio.Channel:
        """A channel whose calls carry no token at all."""
        ch = channel(f"127.0.0.1:{self.servers[service].port}")
        self.channels.append(ch)
        return ch

    def token(
        self, subject: str, role: Role = Role.CITIZEN, clinics=(), **mint
    ) -> tuple[tuple[str, str], ...]:
        """Call metadata with a token the auth service signed for anyone."""
        signer = self.servicers["auth"].keys.signer
        issued = signer.mint(Principal(subject, role, tuple(clinics)), **mint)
        return bearer(issued.token)

    @property
    def patients(self) -> patient_pb2_grpc.PatientServiceStub:
        return patient_pb2_grpc.PatientServiceStub(self.channel("patient"))

    @property
    def eligibility(self) -> eligibility_pb2_grpc.EligibilityServiceStub:
        return eligibility_pb2_grpc.EligibilityServiceStub(self.channel("eligibility"))

    @property
    def clinics(self) -> clinic_pb2_grpc.ClinicServiceStub:
        return clinic_pb2_grpc.ClinicServiceStub(self.channel("clinic"))

    @property
    def inventory(self) -> inventory_pb2_grpc.InventoryServiceStub:
        return inventory_pb2_grpc.InventoryServiceStub(self.channel("inventory"))

    @property
    def appointments(self) -> appointment_pb2_grpc.AppointmentServiceStub:
        return appointment_pb2_grpc.AppointmentServiceStub(self.channel("appointment"))

    @property
    def vaccination(self) -> vaccination_pb2_grpc.VaccinationServiceStub:
        return vaccination_pb2_grpc.VaccinationServiceStub(self.channel("appointment"))

    @property
    def auth(self) -> auth_pb2_grpc.AuthServiceStub:
        return auth_pb2_grpc.AuthServiceStub(self.channel("auth"))

    async def stop(self) -> None:
        for ch in self.channels:
            await ch.close()
        for running in reversed(self.servers.values()):
            await running.stop(grace=0)


async def start_mesh(
    settings: Settings, clock: FakeClock, insurance: InsuranceSettings
) -> Mesh:
    """Starts every service, each told where the others are; auth first, as
    the others fetch its signing keys."""
    tokens = ServiceTokens(service_signer(settings.service_key, clock), "tests")
    mesh = Mesh(clock, tokens)
    # Ports are chosen up front: services call each other both ways.
    ports = {name: _free_port() for name in _ORDER}
    settings = dataclasses.replace(
        settings,
        service_addrs={name: f"127.0.0.1:{port}" for name, port in ports.items()},
    )
    for name in _ORDER:
        app = _APPS[name]
        extra = {"insurance": insurance} if name == "eligibility" else {}
        registrations, on_stop = await app.build(settings, clock, **extra)
        running = await create_server(name, registrations, f"127.0.0.1:{ports[name]}")
        running.on_stop.extend(on_stop)
        mesh.servers[name] = running
        mesh.servicers[name] = registrations[0].servicer
    return mesh


_APPS = {
    "auth": auth_app,
    "inventory": inventory_app,
    "clinic": clinic_app,
    "patient": patient_app,
    "eligibility": eligibility_app,
    "appointment": appointment_app,
}
_ORDER = tuple(_APPS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_id() -> str:
    return uuid.uuid4().hex


async def make_clinic(
    mesh: Mesh, vaccines=("comirnaty",), doses: int = 1000, region: str = "north"
) -> clin.Clinic:
    """A clinic offering ``vaccines`` with ``doses`` of each in stock."""
    clinic = await mesh.clinics.CreateClinic(
        clin.CreateClinicRequest(
            clinic=clin.Clinic(
                display_name="Test Clinic",
                region=region,
                address="1 Test Street",
                vaccines=list(vaccines),
            ),
            request_id=new_id(),
        )
    )
    for vaccine in vaccines:
        await mesh.inventory.SetDoseStock(
            inv.SetDoseStockRequest(
                clinic=clinic.name, vaccine=vaccine, doses=doses, request_id=new_id()
            )
        )
    return clinic


async def make_slot(
    mesh: Mesh,
    clinic: clin.Clinic,
    capacity: int = 10,
    days_ahead: int = 2,
    start: datetime | None = None,
) -> clin.Slot:
    """A 30-minute slot starting at ``start``, or ``days_ahead`` days from
    the mesh clock's now."""
    start = start or mesh.clock.now() + timedelta(days=days_ahead)
    return await mesh.clinics.CreateSlot(
        clin.CreateSlotRequest(
            parent=clinic.name,
            slot=clin.Slot(
                start_time=to_timestamp(start),
                end_time=to_timestamp(start + timedelta(minutes=30)),
                capacity=capacity,
            ),
            request_id=new_id(),
        )
    )


async def booker(
    mesh: Mesh,
    birth_date: str = "1990-05-01",
    region: str = "north",
    allergies=(),
    citizen: str | None = None,
    **record,
) -> str:
    """The id of a citizen with a patient record; by default an adult of the
    north with no allergies, eligible for a first dose of any vaccine."""
    citizen = citizen or new_id()
    await mesh.patients.UpdatePatient(
        pat.UpdatePatientRequest(
            patient=pat.Patient(
                name=f"citizens/{citizen}/patient",
                birth_date=birth_date,
                region=region,
                allergies=list(allergies),
                **record,
            ),
            allow_missing=True,
            request_id=new_id(),
        )
    )
    return citizen


async def bookers(mesh: Mesh, count: int) -> list[str]:
    """``count`` eligible citizens, their records made a batch at a time."""
    citizens: list[str] = []
    while len(citizens) < count:
        batch = min(RECORDS_IN_FLIGHT, count - len(citizens))
        citizens += await asyncio.gather(*(booker(mesh) for _ in range(batch)))
    return citizens


def reserve_request(
    slot: clin.Slot, citizen: str, vaccine: str = "comirnaty", dose=1
) -> appt.ReserveAppointmentRequest:
    """A reservation for ``citizen``, who needs a patient record
    (see :func:`booker`) to pass eligibility."""
    return appt.ReserveAppointmentRequest(
        citizen=f"citizens/{citizen}",
        slot=slot.name,
        vaccine=vaccine,
        dose_number=dose,
        request_id=new_id(),
    )


async def events_of(database_url: str, table, field: str) -> list:
    """The payloads of kind ``field`` in an outbox ``table``, oldest first."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            payloads = (
                await conn.execute(select(table.c.payload).order_by(table.c.id))
            ).scalars()
            events = [events_pb2.Event.FromString(p) for p in payloads]
    finally:
        await engine.dispose()
    return [getattr(e, field) for e in events if e.WhichOneof("payload") == field]


async def qr_keys(mesh: Mesh) -> dict:
    """The keys anyone may fetch to verify QR codes, by key id."""
    listed = await mesh.vaccination.ListQrKeys(vaccination_pb2.ListQrKeysRequest())
    return {k.key_id: qr.public_key_from_bytes(k.public_key) for k in listed.keys}


async def availability(mesh: Mesh, slot: clin.Slot, vaccine="comirnaty"):
    return await mesh.inventory.GetAvailability(
        inv.GetAvailabilityRequest(slot=slot.name, vaccine=vaccine)
    )
