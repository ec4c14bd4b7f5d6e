"""Building and running a service's gRPC server.

``create_server`` returns a started server and its bound port (tests bind port
0); ``serve`` runs one service as a process: logs, metrics endpoint, health,
reflection, and a graceful stop on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from services.common import logs
from services.common.config import Settings
from services.common.interceptor import ServiceInterceptor

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0

# gRPC core sheds calls beyond 1,000 waiting for a handler by cancelling them
# (status CANCELLED). A booking surge must queue instead, up to these bounds.
SERVER_OPTIONS = [
    ("grpc.server.max_pending_requests", 10_000),
    ("grpc.server.max_pending_requests_hard_limit", 20_000),
]


@dataclass
class Registration:
    """One gRPC service to mount: its full name, how to add its servicer, and
    any interceptors it needs after the common one (token checks, say)."""

    full_name: str
    add: Callable[[object, grpc.aio.Server], None]
    servicer: object
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()


@dataclass
class RunningServer:
    """A started server with what is needed to stop it cleanly."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: list[str]
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Reports NOT_SERVING, drains calls for ``grace`` seconds, then closes."""
        for name in ("", *self.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)
        for hook in self.on_stop:
            await hook()


async def create_server(
    service: str, registrations: Sequence[Registration], address: str
) -> RunningServer:
    """Builds, binds and starts a server; returns it with its bound port."""
    interceptors = [ServiceInterceptor(service)]
    for registration in registrations:
        interceptors.extend(registration.interceptors)
    server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
    for registration in registrations:
        registration.add(registration.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [r.full_name for r in registrations]
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    port = server.add_insecure_port(address)
    await server.start()
    for name in ("", *names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer, names)


async def serve(
    service: str,
    build: Callable[[Settings], Awaitable[tuple[list[Registration], list]]],
) -> None:
    """Runs one service until SIGTERM or SIGINT.

    ``build`` returns the registrations and the async shutdown hooks (closing
    pools and background tasks) of the service.
    """
    settings = Settings.from_env()
    logs.configure(service, settings.log_level)
    start_http_server(settings.metrics_ports[service], addr=settings.listen_host)
    registrations, on_stop = await build(settings)
    running = await create_server(service, registrations, settings.listen_addr(service))
    running.on_stop.extend(on_stop)
    log.info(
        "%s listening",
        service,
        extra={
            "fields": {
                "grpc_port": running.port,
                "metrics_port": settings.metrics_ports[service],
            }
        },
    )

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("%s stopping", service)
    await running.stop()
