"""What ``make run`` runs, as a user runs it: ``vaxbook up`` starts every
service as its own process, then ``vaxbook cancel-slot`` books a slot, cancels
it as the clinic and answers the rebooking offer, and ``vaxbook audit verify``
checks the chain over every event.

The data servers are the test run's own; every port is a free one, so a
``make run`` already running on the machine is not disturbed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.config import SERVICES
from services.devstack import Endpoints, create_database, drop_database
from tests.conftest import RUN_ID

# Starting eight services, migrating and seeding, on a busy machine.
START_TIMEOUT_SECONDS = 120.0
COMMAND_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0
RUNNING = "vaxbook is running"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """A running ``vaxbook up`` and the environment to reach it."""

    env: dict[str, str]
    output: list[str]
    process: subprocess.Popen

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )


def _stand_in(module: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _read_lines(stream, into: list[str], started: threading.Event) -> None:
    for line in stream:
        into.append(line)
        if RUNNING in line:
            started.set()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def stack(servers: Endpoints) -> Iterator[Stack]:
    name = f"vaxbook_test_{RUN_ID}_up"
    data_dir = Path(tempfile.mkdtemp(prefix="vaxbook-up-"))
    sms_port, insurance_port = free_port(), free_port()
    env = {
        **os.environ,
        "VAXBOOK_DATABASE_URL": create_database(servers.database_url, name),
        "VAXBOOK_REDIS_URL": servers.redis_url,
        "VAXBOOK_NATS_URL": servers.nats_url,
        "VAXBOOK_EVENT_PREFIX": f"vbtest-{RUN_ID}-up",
        "VAXBOOK_KEY_PREFIX": f"vbtest-{RUN_ID}-up",
        "VAXBOOK_DATA_DIR": str(data_dir),
        "VAXBOOK_DEV_OUTBOX": str(data_dir / "codes.jsonl"),
        "VAXBOOK_SMTP_PORT": str(free_port()),
        "VAXBOOK_INSURANCE_URL": f"http://127.0.0.1:{insurance_port}",
        "VAXBOOK_NOTIFICATION_SMS_URL": f"http://127.0.0.1:{sms_port}",
        "VAXBOOK_GATEWAY_PORT": str(free_port()),
        "VAXBOOK_LOG_LEVEL": "WARNING",
    }
    for service in SERVICES:
        env[f"VAXBOOK_{service.upper()}_ADDR"] = f"127.0.0.1:{free_port()}"
        env[f"VAXBOOK_{service.upper()}_METRICS_PORT"] = str(free_port())
    stand_ins = [
        _stand_in("services.sms_standin", sms_port, env),
        _stand_in("services.insurance_standin", insurance_port, env),
    ]
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    started = threading.Event()
    reader = threading.Thread(
        target=_read_lines, args=(up.stdout, output, started), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not started.wait(0.5):
            if up.poll() is not None or time.monotonic() > deadline:
                pytest.fail("vaxbook up did not start:\n" + "".join(output[-40:]))
        yield Stack(env, output, up)
    finally:
        _stop(up)
        for process in stand_ins:
            _stop(process)
        drop_database(servers.database_url, name)


def step(output: str, number: int) -> str:
    """The line of step ``number`` and the lines indented under it."""
    found = re.search(rf"^{number}\. .*(?:\n {{14}}.*)*", output, re.MULTILINE)
    assert found is not None, output
    return found[0]


def test_up_prints_where_each_service_listens_and_the_commands(stack: Stack) -> None:
    printed = "".join(stack.output)
    for service in SERVICES:
        assert f"gRPC {stack.env[f'VAXBOOK_{service.upper()}_ADDR']}" in printed
    assert ".venv/bin/vaxbook cancel-slot" in printed
    gateway = f"http://127.0.0.1:{stack.env['VAXBOOK_GATEWAY_PORT']}"
    assert f"portal       {gateway}/ " in printed
    assert f"dashboard    {gateway}/dashboard" in printed
    assert f"docs {gateway}/docs" in printed
    assert f"OpenAPI {gateway}/openapi.json" in printed


def test_a_cancelled_slot_tells_the_citizen_offers_a_seat_and_audits_it(
    stack: Stack,
) -> None:
    done = stack.run("cancel-slot", "--reason", "The vaccinator is unwell")

    output = done.stdout
    assert done.returncode == 0, output + done.stderr
    booked = step(output, 2)
    assert "CONFIRMED" in booked
    cancelled_slot = re.search(r"on (clinics/\S+) at", booked)[1]
    assert "1 appointment(s), 1 rebooking offer(s)" in step(output, 3)
    assert "CLINIC_CANCELLED" in step(output, 4)
    offered_slot = re.search(r"^5\. offer\s+(clinics/\S+)", output, re.MULTILINE)[1]
    assert offered_slot != cancelled_slot
    notified = step(output, 6)
    assert "appointment_clinic_cancelled_slot by SMS" in notified
    assert "rebooking_offered by SMS" in notified
    assert notified.count(": SENT") == 2
    # The stand-in provider's own log: the clinic's reason and the held seat
    # reached the citizen's phone.
    assert "The clinic's note: The vaccinator is unwell." in notified, output
    assert "We are holding a seat for you" in notified
    answered = step(output, 7)
    assert "ACCEPTED" in answered
    # The new appointment is confirmed, then cancelled so the demo can rerun.
    assert re.search(r"CONFIRMED.*\n.*CANCELLED", answered)
    assert re.search(r"all [1-9]\d* records verify", step(output, 8))

    again = stack.run("cancel-slot", "--decline")

    assert again.returncode == 0, again.stdout + again.stderr
    assert "DECLINED" in step(again.stdout, 7)
    verified = stack.run("audit", "verify")

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert re.fullmatch(r"all [1-9]\d* records verify\n", verified.stdout)


def test_a_booked_citizens_qr_image_is_recorded_once_by_the_scanner(
    stack: Stack,
) -> None:
    booked = stack.run(
        "book",
        "--today",
        "--keep",
        "--national-id",
        "387654321105",
        "--phone",
        "+919811111111",
    )
    assert booked.returncode == 0, booked.stdout + booked.stderr
    scan_command = re.search(r"scan it: \S+ scan (.+)$", booked.stdout, re.MULTILINE)
    arguments = scan_command[1].split()

    first = stack.run("scan", *arguments)
    again = stack.run("scan", *arguments)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "accepted" in first.stdout
    assert re.search(
        r"recorded .* ADMINISTERED from clinics/\S+/batches/DEMO-", first.stdout
    )
    assert again.returncode == 1
    assert "refused    ALREADY_ADMINISTERED" in again.stdout


def test_the_scanner_works_offline_from_a_saved_bundle_then_uploads(
    stack: Stack,
) -> None:
    booked = stack.run(
        "book",
        "--today",
        "--keep",
        "--national-id",
        "287654321100",
        "--phone",
        "+919822222222",
    )
    assert booked.returncode == 0, booked.stdout + booked.stderr
    clinic = re.search(r"3\. slot\s+(clinics/\w+)/slots/", booked.stdout)[1]
    scan_arguments = re.search(r"scan it: \S+ scan (.+)$", booked.stdout, re.M)[1]
    folder = Path(stack.env["VAXBOOK_DATA_DIR"])
    bundle, queue = folder / "day.json", folder / "queue.jsonl"

    saved = stack.run("scan", "--save-bundle", str(bundle), "--clinic", clinic)
    offline = stack.run(
        "scan", *scan_arguments.split(), "--bundle", str(bundle), "--queue", str(queue)
    )
    uploaded = stack.run("scan", "--upload", str(queue))

    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "accepted" in offline.stdout and "queued" in offline.stdout
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    assert re.search(r"recorded .* ADMINISTERED", uploaded.stdout)
