"""The ``vaxbook`` command line against the in-process mesh: the demo country
seeds once, and the scripted booking walks hold, confirm and cancel."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin

from services.cli import scripted_booking
from services.common.config import SERVICES, Settings
from services.seed import DAYS, SLOTS_PER_DAY, seed
from tests.mesh import new_id

# Only the seeded Hillcrest clinic offers this vaccine in this region, so the
# booking finds a seeded slot whatever other tests created.
REGION, VACCINE = "east", "nuvaxovid"
STEPS = ("1. slot", "2. availability", "3. hold", "4. confirm", "5. cancel")


@pytest.fixture(scope="module")
async def seeded(mesh):
    """The day the demo country was seeded for, relative to the mesh clock."""
    today = mesh.clock.now()
    await seed_demo(mesh, today)
    return today


async def seed_demo(mesh, today) -> int:
    channels = {name: mesh.channel(name) for name in ("clinic", "inventory")}
    return await seed(channels, today=today)


@pytest.fixture
def mesh_settings(mesh, settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        service_addrs={
            name: f"127.0.0.1:{mesh.servers[name].port}" for name in SERVICES
        },
    )


def booking_args(citizen: str, keep: bool = False) -> argparse.Namespace:
    return argparse.Namespace(
        citizen=citizen, vaccine=VACCINE, region=REGION, keep=keep
    )


def step_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"\d\. ", line)]


def step_names(lines: list[str]) -> list[str]:
    """``1. slot`` from ``1. slot        clinics/…``."""
    return [" ".join(line.split()[:2]) for line in lines]


async def count_clinics(mesh) -> int:
    request, count = clin.ListClinicsRequest(page_size=500), 0
    while True:
        page = await mesh.clinics.ListClinics(request)
        count += len(page.clinics)
        if not page.next_page_token:
            return count
        request.page_token = page.next_page_token


async def test_scripted_booking_holds_confirms_and_cancels(
    mesh, seeded, mesh_settings, capsys
):
    citizen = new_id()

    exit_code = await scripted_booking(mesh_settings, booking_args(citizen))

    output = capsys.readouterr().out
    steps = step_lines(output)
    assert exit_code == 0, output
    assert step_names(steps) == list(STEPS)
    assert "PENDING" in steps[2]
    assert "CONFIRMED" in steps[3]
    assert "CANCELLED" in steps[4]
    assert "held 1, committed 0" in output
    assert "held 0, committed 1" in output
    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=f"citizens/{citizen}")
    )
    assert [a.state for a in listed.appointments] == [appt.APPOINTMENT_STATE_CANCELLED]


async def test_scripted_booking_with_keep_stops_after_confirming(
    mesh, seeded, mesh_settings, capsys
):
    citizen = new_id()

    exit_code = await scripted_booking(mesh_settings, booking_args(citizen, keep=True))

    steps = step_lines(capsys.readouterr().out)
    assert exit_code == 0
    assert step_names(steps) == list(STEPS[:4])
    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=f"citizens/{citizen}")
    )
    assert [a.state for a in listed.appointments] == [appt.APPOINTMENT_STATE_CONFIRMED]


async def test_scripted_booking_without_a_matching_slot_says_so_and_fails(
    mesh, seeded, mesh_settings, capsys
):
    args = booking_args(new_id())
    args.region = f"nowhere-{new_id()[:8]}"

    exit_code = await scripted_booking(mesh_settings, args)

    assert exit_code == 1
    assert f"no open slot offers {VACCINE} in region {args.region}" in (
        capsys.readouterr().out
    )


async def test_seeding_twice_creates_nothing_new(mesh, seeded):
    clinics_before = await count_clinics(mesh)
    slots_request = clin.ListSlotsRequest(
        parent="clinics/-", region=REGION, vaccine=VACCINE, page_size=500
    )
    slots_before = len((await mesh.clinics.ListSlots(slots_request)).slots)

    slots_seeded = await seed_demo(mesh, seeded)

    assert await count_clinics(mesh) == clinics_before
    slots_after = len((await mesh.clinics.ListSlots(slots_request)).slots)
    assert slots_after == slots_before == DAYS * len(SLOTS_PER_DAY)
    assert slots_seeded == 3 * DAYS * len(SLOTS_PER_DAY)
