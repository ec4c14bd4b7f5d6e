"""The processes under test: the echo server, the stand-in insurance API, the
vaxbook services and the REST gateway in front of them.

Each runs as a child process in a session of its own, logging to a file. A
process counts as started once the standard gRPC health check says SERVING;
it is stopped with SIGTERM, and killed only if it does not exit in time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import REPO_ROOT, BenchError
from services.common.config import SERVICES
from services.devstack import HOST, free_port

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
HEALTH_CALL_TIMEOUT_SECONDS = 1.0
POLL_INTERVAL_SECONDS = 0.1
LOG_TAIL_LINES = 20
# Far above what the bench can send, so the gateway's rate limits (still
# checked on every request) never refuse a call and distort its figure.
GENEROUS_RATE_LIMITS = {
    f"VAXBOOK_GATEWAY_RATE_{rule}_{setting}": "1000000"
    for rule in ("ADDRESS", "CITIZEN", "SEARCH")
    for setting in ("PER_SECOND", "BURST")
}


@dataclass(frozen=True)
class ServiceEnvironment:
    """What every vaxbook service process is told through ``VAXBOOK_*``."""

    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    nats_url: str
    key_prefix: str
    grpc_ports: Mapping[str, int]
    metrics_ports: Mapping[str, int]
    insurance_port: int

    @classmethod
    def on_free_ports(
        cls, database_url: str, redis_url: str, nats_url: str, key_prefix: str
    ) -> ServiceEnvironment:
        """Settings for a run whose gRPC, metrics and insurance ports are all
        free ones."""
        return cls(
            database_url,
            redis_url,
            nats_url,
            key_prefix,
            grpc_ports={name: free_port() for name in SERVICES},
            metrics_ports={name: free_port() for name in SERVICES},
            insurance_port=free_port(),
        )

    @property
    def event_prefix(self) -> str:
        """The subjects of the run's own stream, apart from any other's."""
        return self.key_prefix

    @property
    def insurance_url(self) -> str:
        return f"http://{HOST}:{self.insurance_port}"

    def address(self, service: str) -> str:
        return f"{HOST}:{self.grpc_ports[service]}"

    def variables(self) -> dict[str, str]:
        variables = {
            "VAXBOOK_DATABASE_URL": self.database_url,
            "VAXBOOK_REDIS_URL": self.redis_url,
            "VAXBOOK_NATS_URL": self.nats_url,
            "VAXBOOK_KEY_PREFIX": self.key_prefix,
            "VAXBOOK_EVENT_PREFIX": self.event_prefix,
            "VAXBOOK_INSURANCE_URL": self.insurance_url,
            "VAXBOOK_LOG_LEVEL": "WARNING",
        }
        for name in SERVICES:
            variables[f"VAXBOOK_{name.upper()}_ADDR"] = self.address(name)
            variables[f"VAXBOOK_{name.upper()}_METRICS_PORT"] = str(
                self.metrics_ports[name]
            )
        return variables


class ChildProcess:
    """A Python module run as a child process that serves gRPC at ``address``."""

    def __init__(
        self,
        name: str,
        module_argv: list[str],
        address: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = [sys.executable, "-m", *module_argv]
        self.address = address
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def exit_code(self) -> int | None:
        """None while the process runs (or before it started)."""
        return None if self._process is None else self._process.poll()

    async def wait_serving(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS):
        """Returns once the health check answers SERVING; raises otherwise."""
        deadline = time.monotonic() + timeout_seconds
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while not await _serving(stub):
                if self.exit_code is not None:
                    raise self.failure(f"exited with status {self.exit_code}")
                if time.monotonic() > deadline:
                    raise self.failure(f"not SERVING within {timeout_seconds:g} s")
                await asyncio.sleep(POLL_INTERVAL_SECONDS)
        log.info("%s serving on %s", self.name, self.address)

    def terminate(self) -> None:
        """Sends SIGTERM if the process still runs."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> int:
        """Waits for the exit after :meth:`terminate`; kills it when late."""
        if self._process is None:
            return 0
        try:
            return self._process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            log.warning(
                "%s ignored SIGTERM for %g s; killing it", self.name, timeout_seconds
            )
            self._process.kill()
            return self._process.wait()

    def failure(self, what: str) -> BenchError:
        return BenchError(f"{self.name} {what}; its log ends:\n{self.log_tail()}")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def logged_trouble(self) -> bool:
        """True when the log holds an error line or a traceback."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return False
        return any(
            marker in text
            for marker in ('"severity": "ERROR"', '"severity": "CRITICAL"', "Traceback")
        )


def echo_server(log_dir: Path) -> ChildProcess:
    port = free_port()
    return ChildProcess(
        "echo", ["bench.echo_server", str(port)], f"{HOST}:{port}", log_dir / "echo.log"
    )


def vaxbook_services(
    environment: ServiceEnvironment, log_dir: Path
) -> list[ChildProcess]:
    """Every service, all told where the others are."""
    return [
        ChildProcess(
            name,
            [f"services.{name}"],
            environment.address(name),
            log_dir / f"{name}.log",
            environment.variables(),
        )
        for name in SERVICES
    ]


class HttpChildProcess(ChildProcess):
    """A child process serving HTTP; started once ``ready_path`` answers."""

    def __init__(self, *args, ready_path: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ready_path = ready_path

    async def wait_serving(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS):
        deadline = time.monotonic() + timeout_seconds
        url = f"http://{self.address}{self.ready_path}"
        async with httpx.AsyncClient(timeout=HEALTH_CALL_TIMEOUT_SECONDS) as client:
            while not await _answers(client, url):
                if self.exit_code is not None:
                    raise self.failure(f"exited with status {self.exit_code}")
                if time.monotonic() > deadline:
                    raise self.failure(f"not answering within {timeout_seconds:g} s")
                await asyncio.sleep(POLL_INTERVAL_SECONDS)
        log.info("%s serving on %s", self.name, self.address)


def insurance_standin(environment: ServiceEnvironment, log_dir: Path) -> ChildProcess:
    """The stand-in insurance API, answering at once and always up."""
    port = environment.insurance_port
    return HttpChildProcess(
        "insurance",
        ["services.insurance_standin", "--host", HOST, "--port", str(port)],
        f"{HOST}:{port}",
        log_dir / "insurance.log",
        environment.variables(),
        ready_path="/admin/stats",
    )


def rest_gateway(environment: ServiceEnvironment, log_dir: Path) -> ChildProcess:
    """The REST gateway, told where the services are, with generous limits."""
    port = free_port()
    return HttpChildProcess(
        "gateway",
        ["gateway"],
        f"{HOST}:{port}",
        log_dir / "gateway.log",
        {
            **environment.variables(),
            **GENEROUS_RATE_LIMITS,
            "VAXBOOK_GATEWAY_HOST": HOST,
            "VAXBOOK_GATEWAY_PORT": str(port),
        },
        ready_path="/healthz",
    )


def stop_all(processes: list[ChildProcess]) -> list[ChildProcess]:
    """SIGTERMs every process, then waits; returns those that ended badly."""
    for process in processes:
        process.terminate()
    troubled = []
    for process in processes:
        code = process.wait_stopped()
        if code != 0 or process.logged_trouble():
            log.warning(
                "%s exited with status %d; its log ends:\n%s",
                process.name,
                code,
                process.log_tail(),
            )
        if code != 0:
            troubled.append(process)
    return troubled


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _serving(stub: health_pb2_grpc.HealthStub) -> bool:
    try:
        reply = await stub.Check(
            health_pb2.HealthCheckRequest(service=""),
            timeout=HEALTH_CALL_TIMEOUT_SECONDS,
        )
    except grpc.aio.AioRpcError:
        return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING
