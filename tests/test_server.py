"""What every service gets from the shared server plumbing: health, reflection,
metrics, JSON logs, error mapping, and a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.clinic.v1 import clinic_pb2_grpc

from services.clinic import app as clinic_app
from services.common.errors import read_error
from services.common.logs import JsonFormatter
from services.common.server import Registration, create_server
from tests.mesh import booker, make_clinic, make_slot, reserve_request
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
SERVING = health_pb2.HealthCheckResponse.SERVING
CLINIC_SERVICE = clin.DESCRIPTOR.services_by_name["ClinicService"].full_name


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("service", ["clinic", "inventory", "appointment"])
async def test_health_reports_serving_for_the_service_and_the_server(mesh, service):
    running = mesh.servers[service]
    health = health_pb2_grpc.HealthStub(mesh.channel(service))

    for name in ("", *running.service_names):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == SERVING, name
    # The appointment process serves the vaccination day beside bookings.
    assert len(running.service_names) == (2 if service == "appointment" else 1)


async def test_reflection_lists_the_services_a_server_offers(mesh):
    reflection = reflection_pb2_grpc.ServerReflectionStub(mesh.channel("clinic"))
    ask = reflection_pb2.ServerReflectionRequest(list_services="")

    answers = [answer async for answer in reflection.ServerReflectionInfo([ask])]

    listed = {s.name for s in answers[0].list_services_response.service}
    assert listed == {
        CLINIC_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_each_call_is_counted_by_outcome_and_timed(mesh):
    clinic = await make_clinic(mesh)
    labels = {"service": "clinic", "rpc": "GetClinic"}
    before = {
        "ok": sample("vaxbook_rpc_calls_total", **labels, code="OK"),
        "not_found": sample("vaxbook_rpc_calls_total", **labels, code="NOT_FOUND"),
        "errors": sample("vaxbook_rpc_errors_total", **labels, code="NOT_FOUND"),
        "timed": sample("vaxbook_rpc_latency_seconds_count", **labels),
    }

    await mesh.clinics.GetClinic(clin.GetClinicRequest(name=clinic.name))
    with pytest.raises(grpc.aio.AioRpcError):
        await mesh.clinics.GetClinic(clin.GetClinicRequest(name="clinics/nowhere"))

    after = {
        "ok": sample("vaxbook_rpc_calls_total", **labels, code="OK"),
        "not_found": sample("vaxbook_rpc_calls_total", **labels, code="NOT_FOUND"),
        "errors": sample("vaxbook_rpc_errors_total", **labels, code="NOT_FOUND"),
        "timed": sample("vaxbook_rpc_latency_seconds_count", **labels),
    }
    assert {key: after[key] - before[key] for key in before} == {
        "ok": 1,
        "not_found": 1,
        "errors": 1,
        "timed": 2,
    }
    assert sample("vaxbook_rpc_errors_total", **labels, code="OK") == 0


@pytest.fixture
def log_lines():
    """The JSON lines the services log while a test runs, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("services")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_logs_are_json_lines_with_call_context_and_no_request_body(
    mesh, log_lines
):
    citizen = await booker(mesh)
    slot = await make_slot(mesh, await make_clinic(mesh))
    first = reserve_request(slot, citizen)
    again = reserve_request(slot, citizen)

    reserved = await mesh.appointments.ReserveAppointment(first)
    with pytest.raises(grpc.aio.AioRpcError):
        await mesh.appointments.ReserveAppointment(again)

    lines = log_lines()
    assert lines
    for line in lines:
        assert {"severity", "service", "message"} <= line.keys()
        assert citizen not in json.dumps(line)
    booked = only(lines, "appointment reserved")
    assert (booked["rpc"], booked["request_id"]) == (
        "ReserveAppointment",
        first.request_id,
    )
    assert booked["appointment_id"] == reserved.name.removeprefix("appointments/")
    refused = only(lines, "ReserveAppointment refused: ALREADY_BOOKED")
    assert (refused["request_id"], refused["reason"]) == (
        again.request_id,
        "ALREADY_BOOKED",
    )


def only(lines: list[dict], message: str) -> dict:
    matching = [line for line in lines if line["message"] == message]
    assert len(matching) == 1, [line["message"] for line in lines]
    return matching[0]


class FailingClinics(clinic_pb2_grpc.ClinicServiceServicer):
    async def GetClinic(self, request, context):
        raise RuntimeError("SELECT * FROM clinics WHERE secret = 'hunter2'")


async def test_unexpected_failure_is_internal_and_keeps_its_details_private():
    running = await create_server(
        "failing",
        [
            Registration(
                CLINIC_SERVICE,
                clinic_pb2_grpc.add_ClinicServiceServicer_to_server,
                FailingClinics(),
            )
        ],
        "127.0.0.1:0",
    )
    errors_before = sample(
        "vaxbook_rpc_errors_total", service="failing", rpc="GetClinic", code="INTERNAL"
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            clinics = clinic_pb2_grpc.ClinicServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await clinics.GetClinic(clin.GetClinicRequest(name="clinics/any"))
    finally:
        await running.stop(grace=0)

    error = read_error(failed.value)
    assert error.code == grpc.StatusCode.INTERNAL
    assert "hunter2" not in error.message
    errors_after = sample(
        "vaxbook_rpc_errors_total", service="failing", rpc="GetClinic", code="INTERNAL"
    )
    assert errors_after == errors_before + 1


async def test_an_unreachable_database_is_unavailable_and_retryable(settings, clock):
    # Nothing listens on port 1: every connection attempt is refused.
    unreachable = dataclasses.replace(
        settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/vaxbook"
    )
    registrations, on_stop = await clinic_app.build(unreachable, clock)
    running = await create_server("no-database", registrations, "127.0.0.1:0")
    running.on_stop.extend(on_stop)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            clinics = clinic_pb2_grpc.ClinicServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await clinics.GetClinic(clin.GetClinicRequest(name="clinics/any"))
    finally:
        await running.stop(grace=0)

    error = read_error(failed.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.UNAVAILABLE,
        "DATABASE_UNAVAILABLE",
    )


async def _answers_health(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.aio.AioRpcError:
            return False
    return answer.status == SERVING


async def _answers_http(url: str) -> bool:
    try:
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=1))
    except OSError:
        return False
    return b"vaxbook_rpc_calls_total" in body.read()


async def test_sigterm_stops_the_service_process_cleanly(settings, tmp_path):
    grpc_address = f"127.0.0.1:{free_port()}"
    metrics_port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "generated"), str(ROOT)]),
        "VAXBOOK_DATABASE_URL": settings.database_url,
        "VAXBOOK_LISTEN_HOST": "127.0.0.1",
        "VAXBOOK_CLINIC_ADDR": grpc_address,
        "VAXBOOK_CLINIC_METRICS_PORT": str(metrics_port),
        "VAXBOOK_INVENTORY_ADDR": f"127.0.0.1:{free_port()}",
        "VAXBOOK_LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "clinic.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.clinic", env=env, cwd=ROOT, stderr=log_file
        )
    try:
        await eventually(lambda: _answers_health(grpc_address), timeout_seconds=30)
        await eventually(
            lambda: _answers_http(f"http://127.0.0.1:{metrics_port}/"),
            timeout_seconds=10,
        )

        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert exit_code == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert {line["service"] for line in lines} == {"clinic"}
    assert [line["message"] for line in lines][-1] == "clinic stopping"
