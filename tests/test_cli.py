"""The ``vaxbook`` command line against the in-process mesh: the demo country
seeds once, and ``vaxbook book`` walks sign-in, hold, eligibility, confirm
and cancel, then shows a refused booking with its reasons."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import re
import tempfile
from pathlib import Path

import pytest
from stdnum import verhoeff
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin

from services.common import qr
from services.common.config import Settings
from services.seed import DAYS, SLOTS_PER_DAY, seed
from services.walkthrough import walk_through
from tests.mesh import new_id

# Only the seeded Harbour clinic offers this vaccine in this region, so the
# booking finds a seeded slot whatever other tests created.
REGION, VACCINE = "south", "comirnaty"
STEPS = (
    "1. signed",
    "2. record",
    "3. slot",
    "4. hold",
    "5. confirm",
    "6. cancel",
    "7. dependant",
    "8. refused",
)


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
            name: f"127.0.0.1:{server.port}" for name, server in mesh.servers.items()
        },
    )


def booking_args(keep: bool = False) -> argparse.Namespace:
    """A new citizen each time: a fresh valid national ID and phone."""
    body = f"{random.randrange(2, 10)}{random.randrange(10**10):010d}"
    return argparse.Namespace(
        national_id=body + verhoeff.calc_check_digit(body),
        phone=f"+9198{random.randrange(10**8):08d}",
        birth_date="1990-05-01",
        region=REGION,
        allergy=[],
        vaccine=VACCINE,
        keep=keep,
        today=False,
        qr_dir=tempfile.mkdtemp(prefix="vaxbook-qr-"),
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


def citizen_of(output: str) -> str:
    return re.search(r"1\. signed in\s+(citizens/\w+)", output)[1]


async def test_book_walks_from_sign_in_to_cancel_then_shows_a_refusal(
    mesh, seeded, mesh_settings, capsys
):
    exit_code = await walk_through(mesh_settings, booking_args())

    output = capsys.readouterr().out
    steps = step_lines(output)
    assert exit_code == 0, output
    assert step_names(steps) == list(STEPS)
    assert "PENDING; eligibility PASSED" in steps[3]
    assert "CONFIRMED" in steps[4]
    assert "CANCELLED" in steps[5]
    assert "REJECTED; eligibility FAILED" in steps[7]
    assert "TOO_YOUNG: " in output
    assert "held 1, committed 0" in output
    assert "held 0, committed 1" in output
    # After the refusal the seat is free again.
    assert output.rstrip().splitlines()[-1].split("(held ")[1].startswith("0,")
    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=citizen_of(output))
    )
    assert [a.state for a in listed.appointments] == [appt.APPOINTMENT_STATE_CANCELLED]


async def test_book_with_keep_leaves_the_appointment_confirmed(
    mesh, seeded, mesh_settings, capsys
):
    exit_code = await walk_through(mesh_settings, booking_args(keep=True))

    output = capsys.readouterr().out
    steps = step_lines(output)
    assert exit_code == 0, output
    assert "6. cancel" not in step_names(steps)
    # The QR code is saved for the scanner, and holds the appointment's code.
    saved = Path(re.search(r"6\. qr code\s+(\S+\.png)", output)[1])
    [token] = qr.decode_image(await asyncio.to_thread(saved.read_bytes))
    assert qr.unverified_claims(token).appointment in output
    assert "--batch DEMO-HARBOUR-COMIRNATY" in output
    listed = await mesh.appointments.ListAppointments(
        appt.ListAppointmentsRequest(parent=citizen_of(output))
    )
    assert [a.state for a in listed.appointments] == [appt.APPOINTMENT_STATE_CONFIRMED]


async def test_book_without_a_matching_slot_says_so_and_fails(
    mesh, seeded, mesh_settings, capsys
):
    args = booking_args()
    args.region = f"nowhere-{new_id()[:8]}"

    exit_code = await walk_through(mesh_settings, args)

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
    # A week of slots per clinic, and the session running today.
    assert slots_after == slots_before == DAYS * len(SLOTS_PER_DAY) + 1
    assert slots_seeded == 3 * (DAYS * len(SLOTS_PER_DAY) + 1)
