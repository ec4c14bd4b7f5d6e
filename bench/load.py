"""The load generator: N asyncio workers calling one RPC in a process of its own,
over gRPC or, for the REST gateway, over HTTP.

Workers call back to back for a warm-up, then for the measured window; a call
counts when it finishes inside the window. The run is bounded in time (no new
call after the window, every call has a deadline) and in count (at most
``max_calls`` calls are started, so a reserve run never runs out of seats).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.clinic.v1 import clinic_pb2 as clin

from bench.echo_server import METHOD as ECHO_METHOD
from bench.http_client import HttpConnection, HttpError, HttpResponse
from bench.scenarios import bench_tokens
from bench.window import Window
from services.common.access import token_channel
from tests.mesh import reserve_request

ECHO = "echo"
RESERVE = "reserve"
# A whole booking: reserve (the hold and eligibility side by side), then
# confirm; one call in the counts.
BOOKING = "booking"
# A reserve through the REST gateway: the same request as JSON over HTTP.
GATEWAY_RESERVE = "gateway_reserve"
RESERVE_PATH = "/v1/appointments:reserve"
ECHO_PAYLOAD = b"vaxbook-bench-" + bytes(50)
# Beyond the window and the last call's deadline, before a run counts as hung.
HANG_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class LoadPlan:
    """What to call, how hard and for how long."""

    kind: str
    address: str
    workers: int
    warmup_seconds: float
    duration_seconds: float
    max_calls: int
    call_timeout_seconds: float = 5.0
    slots: tuple[clin.Slot, ...] = ()
    # People with patient records to book for, one per call.
    citizens: tuple[str, ...] = ()


@dataclass
class LoadResult:
    """Calls finished inside the measured window, and every failure by reason."""

    calls_ok: int = 0
    calls_failed: int = 0
    calls_started: int = 0
    window_seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)

    @classmethod
    def combined(cls, results: Sequence[LoadResult]) -> LoadResult:
        """One result for several runs of the same load, as if one long run."""
        total = cls()
        for result in results:
            total.calls_ok += result.calls_ok
            total.calls_failed += result.calls_failed
            total.calls_started += result.calls_started
            total.window_seconds += result.window_seconds
            total.failures.update(result.failures)
        return total

    @property
    def calls_per_second(self) -> float:
        return self.calls_ok / self.window_seconds if self.window_seconds else 0.0


async def measure(plan: LoadPlan, pool: ProcessPoolExecutor) -> LoadResult:
    """Runs ``plan`` in the pool's process and returns its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, run_load, plan)


def run_load(plan: LoadPlan) -> LoadResult:
    """The entry point in the load process."""
    return asyncio.run(_drive(plan))


async def _drive(plan: LoadPlan) -> LoadResult:
    if plan.kind == GATEWAY_RESERVE:
        return await _drive_http(plan)
    if plan.kind == ECHO:
        channel = grpc.aio.insecure_channel(plan.address)
    else:
        channel = token_channel(plan.address, bench_tokens())
    async with channel:
        await asyncio.wait_for(channel.channel_ready(), plan.call_timeout_seconds)
        return await _run_workers(plan, [_call_for(plan, channel)] * plan.workers)


async def _drive_http(plan: LoadPlan) -> LoadResult:
    """Reserves through the gateway at ``plan.address``, as the bench's
    service account, each worker over a kept-alive connection of its own:
    one client sharing many connections slows down as they grow (with 64, a
    plain Starlette app answered it a sixth as fast as 64 one-connection
    clients on this machine), which would measure the client rather than the
    gateway."""
    host, _, port = plan.address.rpartition(":")
    connections = [
        HttpConnection(host, int(port), plan.call_timeout_seconds)
        for _ in range(plan.workers)
    ]
    reserve = _http_reserve(plan)
    try:
        return await _run_workers(
            plan, [functools.partial(reserve, c) for c in connections]
        )
    finally:
        for connection in connections:
            await connection.close()


async def _run_workers(
    plan: LoadPlan, calls: list[Callable[[], Awaitable[object]]]
) -> LoadResult:
    """Runs one worker per call in ``calls``."""
    result = LoadResult()
    window = Window(plan.warmup_seconds, plan.duration_seconds)
    workers = [_worker(call, plan, window, result) for call in calls]
    await asyncio.wait_for(
        asyncio.gather(*workers),
        plan.warmup_seconds
        + plan.duration_seconds
        + plan.call_timeout_seconds
        + HANG_MARGIN_SECONDS,
    )
    result.window_seconds = window.elapsed_seconds()
    return result


async def _worker(
    call: Callable[[], Awaitable[object]],
    plan: LoadPlan,
    window: Window,
    result: LoadResult,
) -> None:
    while window.running() and result.calls_started < plan.max_calls:
        result.calls_started += 1
        try:
            await call()
        except grpc.aio.AioRpcError as error:
            result.failures[error.code().name] += 1
            result.calls_failed += window.inside()
        except HttpRefusal as refusal:
            result.failures[refusal.reason] += 1
            result.calls_failed += window.inside()
        except HttpError as error:
            result.failures[error.reason] += 1
            result.calls_failed += window.inside()
        else:
            result.calls_ok += window.inside()


class HttpRefusal(Exception):
    """A gateway answer other than 200; ``reason`` is its status and, when
    the body names one, its ``ErrorInfo`` reason."""

    def __init__(self, response: HttpResponse) -> None:
        self.reason = f"HTTP {response.status} {_error_reason(response)}".strip()
        super().__init__(self.reason)


def _error_reason(response: HttpResponse) -> str:
    try:
        details = response.json().get("details", [])
    except (ValueError, AttributeError):
        return ""
    return next((d["reason"] for d in details if "reason" in d), "")


def _http_reserve(plan: LoadPlan):
    """A coroutine function reserving through the gateway over the client
    it is given; the JSON body is the gRPC scenario's request in proto JSON."""
    slots = itertools.cycle(plan.slots)
    citizens = iter(plan.citizens)
    tokens = bench_tokens()

    async def reserve(connection: HttpConnection) -> None:
        request = reserve_request(next(slots), next(citizens))
        response = await connection.post_json(
            RESERVE_PATH, json_format.MessageToDict(request), tokens.metadata()
        )
        if response.status != 200:
            raise HttpRefusal(response)

    return reserve


def _call_for(plan: LoadPlan, channel: grpc.aio.Channel):
    """A no-argument coroutine function making one call of the plan's kind."""
    timeout = plan.call_timeout_seconds
    if plan.kind == ECHO:
        echo = channel.unary_unary(ECHO_METHOD)
        return lambda: echo(ECHO_PAYLOAD, timeout=timeout)
    stub = appointment_pb2_grpc.AppointmentServiceStub(channel)
    slots = itertools.cycle(plan.slots)
    # Each call books a new citizen, so no reservation clashes with another.
    citizens = iter(plan.citizens)

    def reserve():
        request = reserve_request(next(slots), next(citizens))
        return stub.ReserveAppointment(request, timeout=timeout)

    async def book():
        reserved = await reserve()
        await stub.ConfirmAppointment(
            appt.ConfirmAppointmentRequest(
                name=reserved.name, request_id=f"confirm-{reserved.name}"
            ),
            timeout=timeout,
        )

    if plan.kind == RESERVE:
        return reserve
    if plan.kind == BOOKING:
        return book
    raise ValueError(
        f"unknown load kind {plan.kind!r}; use {ECHO!r}, {RESERVE!r}, "
        f"{BOOKING!r} or {GATEWAY_RESERVE!r}"
    )
