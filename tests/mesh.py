"""An in-process vaxbook mesh for tests: every service on port 0, one clock."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.appointment import app as appointment_app
from services.auth import app as auth_app
from services.clinic import app as clinic_app
from services.common.clock import FakeClock, to_timestamp
from services.common.config import Settings
from services.common.server import RunningServer, create_server
from services.inventory import app as inventory_app


@dataclass
class Mesh:
    """Running services, their stubs, and the clock they share."""

    clock: FakeClock
    servers: dict[str, RunningServer] = field(default_factory=dict)
    servicers: dict[str, object] = field(default_factory=dict)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def channel(self, service: str) -> grpc.aio.Channel:
        ch = grpc.aio.insecure_channel(f"127.0.0.1:{self.servers[service].port}")
        self.channels.append(ch)
        return ch

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
    def auth(self) -> auth_pb2_grpc.AuthServiceStub:
        return auth_pb2_grpc.AuthServiceStub(self.channel("auth"))

    async def stop(self) -> None:
        for ch in self.channels:
            await ch.close()
        for running in reversed(self.servers.values()):
            await running.stop(grace=0)


async def start_mesh(settings: Settings, clock: FakeClock) -> Mesh:
    """Starts inventory, clinic, appointment and auth, each told where the
    others are."""
    mesh = Mesh(clock)
    for name, app in (
        ("inventory", inventory_app),
        ("clinic", clinic_app),
        ("appointment", appointment_app),
        ("auth", auth_app),
    ):
        registrations, on_stop = await app.build(settings, clock)
        running = await create_server(name, registrations, "127.0.0.1:0")
        running.on_stop.extend(on_stop)
        mesh.servers[name] = running
        mesh.servicers[name] = registrations[0].servicer
        settings = dataclasses.replace(
            settings,
            service_addrs={
                **settings.service_addrs,
                name: f"127.0.0.1:{running.port}",
            },
        )
    return mesh


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
    mesh: Mesh, clinic: clin.Clinic, capacity: int = 10, days_ahead: int = 2
) -> clin.Slot:
    start = mesh.clock.now() + timedelta(days=days_ahead)
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


def reserve_request(
    slot: clin.Slot, citizen: str | None = None, vaccine: str = "comirnaty", dose=1
) -> appt.ReserveAppointmentRequest:
    return appt.ReserveAppointmentRequest(
        citizen=f"citizens/{citizen or new_id()}",
        slot=slot.name,
        vaccine=vaccine,
        dose_number=dose,
        request_id=new_id(),
    )


async def availability(mesh: Mesh, slot: clin.Slot, vaccine="comirnaty"):
    return await mesh.inventory.GetAvailability(
        inv.GetAvailabilityRequest(slot=slot.name, vaccine=vaccine)
    )
