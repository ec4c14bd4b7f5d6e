"""The ``vaxbook`` command line: run the stack, migrate, seed, and book."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services import devstack
from services.common import logs
from services.common.config import SERVICES, Settings
from services.common.errors import read_error
from services.migrate import migrate
from services.seed import seed

log = logging.getLogger("vaxbook")

HEALTH_TIMEOUT_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start servers and every service; Ctrl-C stops")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="create the demo country in running services")
    book = commands.add_parser("book", help="book, confirm and cancel over gRPC")
    book.add_argument("--citizen", default="demo-citizen", help="citizen id")
    book.add_argument("--vaccine", default="comirnaty")
    book.add_argument("--region", default="north")
    book.add_argument("--keep", action="store_true", help="do not cancel at the end")
    args = parser.parse_args(argv)
    logs.configure("cli", os.environ.get("VAXBOOK_LOG_LEVEL", "INFO"))
    try:
        if args.command == "up":
            return up()
        settings = Settings.from_env()
        if args.command == "migrate":
            migrate(settings.database_url)
            return 0
        if args.command == "seed":
            asyncio.run(_seed(settings))
            return 0
        return asyncio.run(scripted_booking(settings, args))
    except KeyboardInterrupt:
        return 130


# vaxbook up


def up() -> int:
    """Starts servers (or uses VAXBOOK_*_URL), migrates, runs every service,
    seeds the demo country, and waits for Ctrl-C."""
    data_dir = Path(os.environ.get("VAXBOOK_DATA_DIR", ".vaxbook")).resolve()
    endpoints, stack = devstack.resolve_servers(
        "VAXBOOK_", data_dir, probe_local_ports=False, database="vaxbook"
    )
    env = {
        **os.environ,
        "VAXBOOK_DATABASE_URL": endpoints.database_url,
        "VAXBOOK_REDIS_URL": endpoints.redis_url,
        "VAXBOOK_NATS_URL": endpoints.nats_url,
        # Development only: one-time codes land here instead of on a phone.
        "VAXBOOK_DEV_OUTBOX": os.environ.get(
            "VAXBOOK_DEV_OUTBOX", str(data_dir / "dev-outbox.jsonl")
        ),
    }
    os.environ.update(env)
    children: list[subprocess.Popen] = []
    try:
        migrate(endpoints.database_url)
        settings = Settings.from_env()
        for name in SERVICES:
            children.append(
                subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env)
            )
        asyncio.run(_wait_healthy(settings))
        slots = asyncio.run(_seed(settings))
        _print_addresses(settings, endpoints, slots)
        _wait_for_interrupt(children)
    finally:
        _stop(children)
        if stack is not None:
            stack.stop()
    return 0


async def _wait_healthy(settings: Settings) -> None:
    for name in SERVICES:
        async with grpc.aio.insecure_channel(settings.service_addrs[name]) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(
                health_pb2.HealthCheckRequest(),
                timeout=HEALTH_TIMEOUT_SECONDS,
                wait_for_ready=True,
            )


async def _seed(settings: Settings) -> int:
    async with AsyncExitStack() as exits:
        channels = {
            name: await exits.enter_async_context(
                grpc.aio.insecure_channel(settings.service_addrs[name])
            )
            for name in ("clinic", "inventory")
        }
        slots = await seed(channels)
    log.info("demo country seeded", extra={"fields": {"slots": slots}})
    return slots


def _print_addresses(settings: Settings, endpoints, slots: int) -> None:
    lines = ["", "vaxbook is running (Ctrl-C stops it)", ""]
    for name in SERVICES:
        lines.append(
            f"  {name:<12} gRPC {settings.service_addrs[name]:<18} "
            f"metrics http://{settings.listen_host}:{settings.metrics_ports[name]}/"
        )
    lines += [
        f"  {'postgresql':<12} {_without_user(endpoints.database_url)}",
        f"  {'redis':<12} {endpoints.redis_url}",
        f"  {'nats':<12} {endpoints.nats_url}",
        f"  {'codes':<12} one-time sign-in codes go to {settings.dev_outbox_path}",
        f"  demo country: {slots} slots; try: .venv/bin/vaxbook book",
        "",
    ]
    print("\n".join(lines), flush=True)


def _without_user(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"


def _wait_for_interrupt(children: list[subprocess.Popen]) -> None:
    """Blocks until Ctrl-C or SIGTERM, or until a service exits."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
        log.error("a service exited; stopping everything")
    except KeyboardInterrupt:
        log.info("stopping")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


# vaxbook book


async def scripted_booking(settings: Settings, args) -> int:
    """Finds a slot, shows availability, holds, confirms and cancels."""
    async with AsyncExitStack() as exits:
        channel = {
            name: await exits.enter_async_context(
                grpc.aio.insecure_channel(settings.service_addrs[name])
            )
            for name in SERVICES
        }
        clinics = clinic_pb2_grpc.ClinicServiceStub(channel["clinic"])
        inventory = inventory_pb2_grpc.InventoryServiceStub(channel["inventory"])
        appointments = appointment_pb2_grpc.AppointmentServiceStub(
            channel["appointment"]
        )
        try:
            return await _book(clinics, inventory, appointments, args)
        except grpc.aio.AioRpcError as error:
            details = read_error(error)
            print(f"refused: {details.code.name} {details.reason}: {details.message}")
            return 1


async def _book(clinics, inventory, appointments, args) -> int:
    slot = await _next_open_slot(clinics, args.region, args.vaccine)
    if slot is None:
        print(f"no open slot offers {args.vaccine} in region {args.region}")
        return 1
    print(f"1. slot        {slot.name} starting {slot.start_time.ToJsonString()}")
    await _show_availability(inventory, slot.name, args.vaccine, "2. availability")

    reserved = await appointments.ReserveAppointment(
        appt.ReserveAppointmentRequest(
            citizen=f"citizens/{args.citizen}",
            slot=slot.name,
            vaccine=args.vaccine,
            dose_number=1,
            request_id=uuid.uuid4().hex,
        ),
        timeout=5,
    )
    print(
        f"3. hold        {reserved.name} {_state(reserved)} until "
        f"{reserved.hold_expire_time.ToJsonString()}"
    )
    await _show_availability(inventory, slot.name, args.vaccine, "   availability")

    confirmed = await appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=uuid.uuid4().hex),
        timeout=5,
    )
    print(f"4. confirm     {confirmed.name} {_state(confirmed)}")
    await _show_availability(inventory, slot.name, args.vaccine, "   availability")
    if args.keep:
        return 0

    cancelled = await appointments.CancelAppointment(
        appt.CancelAppointmentRequest(name=reserved.name, request_id=uuid.uuid4().hex),
        timeout=5,
    )
    print(f"5. cancel      {cancelled.name} {_state(cancelled)}")
    await _show_availability(inventory, slot.name, args.vaccine, "   availability")
    return 0


async def _next_open_slot(clinics, region: str, vaccine: str) -> clin.Slot | None:
    """The earliest slot that has not started yet, or ``None``."""
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
            timeout=5,
        )
        for slot in page.slots:
            if slot.start_time.ToDatetime(tzinfo=UTC) > now:
                return slot
        if not page.next_page_token:
            return None
        token = page.next_page_token


async def _show_availability(inventory, slot: str, vaccine: str, label: str) -> None:
    counts = await inventory.GetAvailability(
        inv.GetAvailabilityRequest(slot=slot, vaccine=vaccine), timeout=5
    )
    print(
        f"{label:<14} seats free {counts.seats.free}/{counts.seats.total} "
        f"(held {counts.seats.held}, committed {counts.seats.committed}); "
        f"{vaccine} doses free {counts.doses.free}/{counts.doses.total}"
    )


def _state(appointment: appt.Appointment) -> str:
    return appt.AppointmentState.Name(appointment.state).removeprefix(
        "APPOINTMENT_STATE_"
    )


if __name__ == "__main__":
    sys.exit(main())
