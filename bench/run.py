"""Benchmarks the vaxbook mesh in one run and writes ``bench/results.json``.

What it measures, against real PostgreSQL and Redis and a fresh database:

- ``echo_rps``: unary calls a second to a bare ``grpc.aio`` echo server, and
  ``reserve_rps``: ``ReserveAppointment`` calls a second through the service
  processes (the hold and the eligibility check included), both driven by the
  same load generator; ``reserve_to_echo`` is their ratio (target at least
  0.5).
- ``gateway_reserve_rps``: the same ``ReserveAppointment`` calls, with as
  many workers for as long, sent as JSON to ``POST /v1/appointments:reserve``
  on the REST gateway, which runs as a process of its own in front of the
  services; ``gateway_to_grpc`` is its ratio to ``reserve_rps`` (target at
  least 0.7). The two are measured in alternating rounds, and each figure is
  over all of its rounds. The gateway still checks its rate limits on every
  request, but its ``VAXBOOK_GATEWAY_RATE_*`` settings are set far above what
  the bench can send, so no call is refused for them.
- ``booking_rps``: whole bookings a second, each a reserve then a confirm of a
  plainly eligible citizen; ``booking_to_echo`` is its ratio to ``echo_rps``
  (target at least 0.2).
- ``hot_slot_redis_holds_per_s`` and ``hot_slot_db_holds_per_s``: holds a
  second on one slot against the inventory engine in process, on the Redis
  and on the PostgreSQL path; ``redis_to_db_hot_slot`` is their ratio (target
  at least 3).
- ``oversold``: seats and doses claimed beyond their totals after every
  scenario, including many citizens reserving the few seats of one slot
  (target 0; the only figure that makes the run fail).
- ``scans_per_s``: QR codes verified a second over one scanner stream, each
  scan answered with who the code is for; ``scan_to_echo`` is its ratio to
  ``echo_rps`` (target at least 1).
- ``outbox_lag_p99_s``: the 99th percentile of an appointment event's wait in
  the outbox, from its change to its publication, over the events of the
  booking load (target at most 1); ``relay_events_per_s``: events a second
  the appointment relay publishes from a backlog written into its outbox.

Each load starts once the events of its set-up have been published and
consumed (``bench.settle``), so no figure carries another scenario's backlog.

Run ``make bench`` or ``python -m bench.run --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, ExitStack, suppress
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import nats
import redis
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine
from vaxbook.clinic.v1 import clinic_pb2 as clin

from bench import BenchError
from bench.checks import OversellCheck, UsedSlot
from bench.hot_slot import HotSlotPlan, measure_hot_slot
from bench.load import (
    BOOKING,
    ECHO,
    GATEWAY_RESERVE,
    RESERVE,
    LoadPlan,
    LoadResult,
    measure,
)
from bench.outbox import outbox_lag_p99_seconds, relay_events_per_second
from bench.processes import (
    ChildProcess,
    ServiceEnvironment,
    echo_server,
    insurance_standin,
    rest_gateway,
    stop_all,
    vaxbook_services,
)
from bench.report import table, write_results
from bench.scans import ScanResult, measure_scans, scan_codes
from bench.scenarios import (
    VACCINE,
    MeshClient,
    bench_tokens,
    connected_mesh,
    contend_for_seats,
    open_slots,
    used_by_appointments,
)
from bench.settle import settle
from services.common.access import token_channel
from services.common.db import create_engine
from services.common.events import EventSettings
from services.devstack import Endpoints, create_database, drop_database, resolve_servers
from services.migrate import migrate
from tests.mesh import bookers

log = logging.getLogger("vaxbook.bench")

RUN_ID = uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Parameters:
    """How hard and how long each scenario runs."""

    workers: int = 64
    warmup_seconds: float = 1.0
    duration_seconds: float = 5.0
    # Far above what the echo server can answer in the window.
    echo_max_calls: int = 1_000_000
    reserve_clinics: int = 4
    reserve_slots_per_clinic: int = 8
    reserve_slot_capacity: int = 1000
    # People with patient records made before each load run, one per call;
    # more than the run can book.
    citizens_per_run: int = 3000
    contention_seats: int = 20
    contention_citizens: int = 500
    hot_slot_tasks: int = 64
    hot_slot_warmup_seconds: float = 0.5
    hot_slot_seconds: float = 3.0
    hot_slot_capacity: int = 100_000
    # Rounds of reserving over gRPC and through the gateway, each round both.
    gateway_rounds: int = 2


def main(argv: list[str] | None = None) -> int:
    parameters = _parse(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    started = time.monotonic()
    try:
        results = _run(parameters)
    except BenchError as error:
        log.error("benchmark failed: %s", error)
        return 2
    results["run_seconds"] = round(time.monotonic() - started, 1)
    write_results(results)
    print(table(results))
    print(f"\n{results['run_seconds']} s; results in bench/results.json")
    return 1 if results["oversold"] else 0


def _parse(argv: list[str] | None) -> Parameters:
    defaults = Parameters()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument(
        "--duration-seconds", type=float, default=defaults.duration_seconds
    )
    parser.add_argument("--warmup-seconds", type=float, default=defaults.warmup_seconds)
    parser.add_argument(
        "--hot-slot-seconds", type=float, default=defaults.hot_slot_seconds
    )
    options = parser.parse_args(argv)
    return Parameters(
        workers=options.workers,
        duration_seconds=options.duration_seconds,
        warmup_seconds=options.warmup_seconds,
        hot_slot_seconds=options.hot_slot_seconds,
    )


# Servers, database and processes: set up in order, torn down in reverse.


def _run(parameters: Parameters) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="vaxbook-bench-") as scratch,
        ExitStack() as cleanup,
    ):
        work_dir = Path(scratch)
        endpoints = _servers(cleanup, work_dir)
        environment = ServiceEnvironment.on_free_ports(
            database_url=_fresh_database(cleanup, endpoints.database_url),
            redis_url=endpoints.redis_url,
            nats_url=endpoints.nats_url,
            key_prefix=f"vbbench-{RUN_ID}",
        )
        cleanup.callback(_delete_keys, endpoints.redis_url, environment.key_prefix)
        cleanup.callback(_delete_stream, _event_settings(environment))
        echo = echo_server(work_dir)
        gateway = rest_gateway(environment, work_dir)
        processes = [
            echo,
            insurance_standin(environment, work_dir),
            *vaxbook_services(environment, work_dir),
            gateway,
        ]
        cleanup.callback(_stop, processes)
        for process in processes:
            process.start()
        return asyncio.run(
            _scenarios(parameters, environment, echo, gateway, processes)
        )


def _servers(cleanup: ExitStack, work_dir: Path) -> Endpoints:
    endpoints, stack = resolve_servers("VAXBOOK_BENCH_", work_dir / "servers")
    if stack is not None:
        cleanup.callback(stack.stop)
    return endpoints


def _fresh_database(cleanup: ExitStack, server_url: str) -> str:
    name = f"vaxbook_bench_{RUN_ID}"
    database_url = create_database(server_url, name)
    cleanup.callback(drop_database, server_url, name)
    migrate(database_url)
    return database_url


def _delete_keys(redis_url: str, key_prefix: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    log.info("deleted %d Redis keys under %s", len(keys), key_prefix)


def _event_settings(environment: ServiceEnvironment) -> EventSettings:
    return EventSettings(environment.nats_url, environment.event_prefix)


def _delete_stream(settings: EventSettings) -> None:
    asyncio.run(_delete_stream_async(settings))
    log.info("deleted stream %s", settings.stream)


async def _delete_stream_async(settings: EventSettings) -> None:
    client = await nats.connect(settings.nats_url)
    try:
        with suppress(NotFoundError):
            await client.jetstream().delete_stream(settings.stream)
    finally:
        await client.close()


def _stop(processes: list[ChildProcess]) -> None:
    failed = stop_all(processes)
    if failed:
        names = ", ".join(process.name for process in failed)
        raise BenchError(f"{names} did not stop cleanly on SIGTERM")


# The scenarios.


async def _scenarios(
    parameters: Parameters,
    environment: ServiceEnvironment,
    echo: ChildProcess,
    gateway: ChildProcess,
    processes: list[ChildProcess],
) -> dict:
    await asyncio.gather(*(process.wait_serving() for process in processes))
    async with AsyncExitStack() as stack:
        mesh = await stack.enter_async_context(connected_mesh(environment))
        engine = create_engine(environment.database_url, pool_size=2)
        stack.push_async_callback(engine.dispose)
        pool = stack.enter_context(
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        )
        scenarios = _Scenarios(
            parameters,
            environment,
            mesh,
            engine,
            OversellCheck(engine, mesh.inventory),
            pool,
        )
        results = await scenarios.run(echo.address, gateway.address)
    for process in processes:
        if process.exit_code is not None:
            raise process.failure(f"exited with status {process.exit_code} mid-run")
    return results


class _Scenarios:
    """Runs each scenario, checks its slots for overselling, collects figures."""

    def __init__(
        self,
        parameters: Parameters,
        environment: ServiceEnvironment,
        mesh: MeshClient,
        engine: AsyncEngine,
        check: OversellCheck,
        pool: ProcessPoolExecutor,
    ) -> None:
        self.parameters = parameters
        self.environment = environment
        self.mesh = mesh
        self.engine = engine
        self.check = check
        self.pool = pool
        self.oversold: dict[str, int] = {}
        self.refusals: dict[str, dict[str, int]] = {}

    async def run(self, echo_address: str, gateway_address: str) -> dict:
        echo = await self._load(
            ECHO, echo_address, max_calls=self.parameters.echo_max_calls
        )
        appointment_address = self.environment.address("appointment")
        reserve, gateway_reserve = await self._reserve_both_ways(
            appointment_address, gateway_address
        )
        booking, booking_from = await self._booked(BOOKING, appointment_address)
        outbox_lag = await outbox_lag_p99_seconds(
            self.engine, booking_from, self.mesh.clock.now()
        )
        relay_rate = await relay_events_per_second(
            self.engine, _event_settings(self.environment)
        )
        scans = await self._scans()
        contention = await self._contention()
        redis_rate = await self._hot_slot(use_redis=True)
        db_rate = await self._hot_slot(use_redis=False)
        return {
            "echo_rps": round(echo.calls_per_second, 1),
            "reserve_rps": round(reserve.calls_per_second, 1),
            "reserve_to_echo": _ratio(reserve.calls_per_second, echo.calls_per_second),
            "gateway_reserve_rps": round(gateway_reserve.calls_per_second, 1),
            "gateway_to_grpc": _ratio(
                gateway_reserve.calls_per_second, reserve.calls_per_second
            ),
            "booking_rps": round(booking.calls_per_second, 1),
            "booking_to_echo": _ratio(booking.calls_per_second, echo.calls_per_second),
            "hot_slot_redis_holds_per_s": round(redis_rate, 1),
            "hot_slot_db_holds_per_s": round(db_rate, 1),
            "redis_to_db_hot_slot": _ratio(redis_rate, db_rate),
            "relay_events_per_s": round(relay_rate, 1),
            "scans_per_s": round(scans.scans_per_second, 1),
            "scan_to_echo": _ratio(scans.scans_per_second, echo.calls_per_second),
            "outbox_lag_p99_s": round(outbox_lag, 3),
            "oversold": sum(self.oversold.values()),
            "oversold_by_scenario": self.oversold,
            "contention_pending": contention,
            "refusals": self.refusals,
            "parameters": asdict(self.parameters),
        }

    async def _load(
        self,
        kind: str,
        address: str,
        max_calls: int,
        slots: Sequence[clin.Slot] = (),
        citizens: Sequence[str] = (),
    ) -> LoadResult:
        parameters = self.parameters
        plan = LoadPlan(
            kind=kind,
            address=address,
            workers=parameters.workers,
            warmup_seconds=parameters.warmup_seconds,
            duration_seconds=parameters.duration_seconds,
            max_calls=max_calls,
            slots=tuple(slots),
            citizens=tuple(citizens),
        )
        log.info(
            "%s load: %d workers for %g s", kind, plan.workers, plan.duration_seconds
        )
        result = await measure(plan, self.pool)
        self._record_refusals(kind, result)
        log.info("%s: %.1f calls/s", kind, result.calls_per_second)
        return result

    async def _booked(self, kind: str, address: str) -> tuple[LoadResult, datetime]:
        """Reserves (or books whole) for new citizens across fresh slots,
        calling ``address``; returns the result and when the load began."""
        parameters = self.parameters
        slots = await open_slots(
            self.mesh,
            parameters.reserve_clinics,
            parameters.reserve_slots_per_clinic,
            parameters.reserve_slot_capacity,
        )
        log.info("%s: making %d patient records", kind, parameters.citizens_per_run)
        citizens = await bookers(self.mesh, parameters.citizens_per_run)
        seats = len(slots) * parameters.reserve_slot_capacity
        await settle(_event_settings(self.environment))
        started_at = self.mesh.clock.now()
        result = await self._load(
            kind,
            address,
            max_calls=min(seats, len(citizens)),
            slots=slots,
            citizens=citizens,
        )
        await self._check(kind, used_by_appointments(slots))
        return result, started_at

    async def _reserve_both_ways(
        self, grpc_address: str, gateway_address: str
    ) -> tuple[LoadResult, LoadResult]:
        """Reserves over gRPC and through the gateway in alternating order
        (gRPC, gateway, gateway, gRPC, ...), so that the machine speeding up
        or slowing down during the run weighs on both figures alike; each
        figure is over all its rounds."""
        addresses = {RESERVE: grpc_address, GATEWAY_RESERVE: gateway_address}
        rounds: dict[str, list[LoadResult]] = {RESERVE: [], GATEWAY_RESERVE: []}
        for number in range(self.parameters.gateway_rounds):
            order = [RESERVE, GATEWAY_RESERVE]
            for kind in order if number % 2 == 0 else reversed(order):
                result, _ = await self._booked(kind, addresses[kind])
                rounds[kind].append(result)
        reserve = LoadResult.combined(rounds[RESERVE])
        gateway_reserve = LoadResult.combined(rounds[GATEWAY_RESERVE])
        self.refusals[RESERVE] = dict(reserve.failures)
        self.refusals[GATEWAY_RESERVE] = dict(gateway_reserve.failures)
        return reserve, gateway_reserve

    async def _scans(self) -> ScanResult:
        """Scans over one stream; refusals are counted apart, by code."""
        parameters = self.parameters
        async with token_channel(
            self.environment.address("appointment"), bench_tokens()
        ) as channel:
            clinic, tokens = await scan_codes(self.mesh, channel)
            await settle(_event_settings(self.environment))
            log.info(
                "scans: one stream, %d codes, %g s",
                len(tokens),
                parameters.duration_seconds,
            )
            result = await measure_scans(
                channel,
                clinic.name,
                tokens,
                parameters.warmup_seconds,
                parameters.duration_seconds,
            )
        self.refusals["scans"] = result.refused
        log.info("scans: %.1f a second", result.scans_per_second)
        return result

    async def _contention(self) -> int:
        """Citizens rush a small slot; returns its PENDING appointments."""
        parameters = self.parameters
        log.info(
            "contention: %d citizens for %d seats",
            parameters.contention_citizens,
            parameters.contention_seats,
        )
        result = await contend_for_seats(
            self.mesh, parameters.contention_seats, parameters.contention_citizens
        )
        [slot] = used_by_appointments([result.slot])
        await self._check("contention", [slot])
        pending = await self.check.pending_appointments(slot)
        log.info(
            "contention: %d reserved, %d PENDING appointments, outcomes %s",
            result.reserved,
            pending,
            dict(result.outcomes),
        )
        self.refusals["contention"] = result.refusals()
        return pending

    async def _hot_slot(self, use_redis: bool) -> float:
        scenario = "hot_slot_redis" if use_redis else "hot_slot_db"
        parameters = self.parameters
        plan = HotSlotPlan(
            database_url=self.environment.database_url,
            redis_url=self.environment.redis_url,
            key_prefix=self.environment.key_prefix,
            events=_event_settings(self.environment),
            tasks=parameters.hot_slot_tasks,
            warmup_seconds=parameters.hot_slot_warmup_seconds,
            duration_seconds=parameters.hot_slot_seconds,
            capacity=parameters.hot_slot_capacity,
        )
        result = await measure_hot_slot(plan, use_redis)
        self.refusals[scenario] = dict(result.refusals)
        slot = UsedSlot(result.clinic_id, result.slot_id, VACCINE, False)
        await self._check(scenario, [slot])
        log.info("%s: %.1f holds/s", scenario, result.holds_per_second)
        return result.holds_per_second

    async def _check(self, scenario: str, slots: list[UsedSlot]) -> None:
        self.oversold[scenario] = await self.check.excess(scenario, slots)

    def _record_refusals(self, kind: str, result: LoadResult) -> None:
        self.refusals[kind] = dict(result.failures)
        if result.failures:
            log.warning("%s calls refused or failed: %s", kind, dict(result.failures))


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


if __name__ == "__main__":
    sys.exit(main())
