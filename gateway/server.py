"""Serving the gateway with uvicorn: as a process of its own, stopping
gracefully on SIGTERM or Ctrl-C, or inside a running event loop for tests."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from services.common.standin import HostedServer

log = logging.getLogger(__name__)

# Open requests get this long to finish once a stop is asked for; calls to
# the services have their own, shorter deadline.
SHUTDOWN_GRACE_SECONDS = 10


@dataclass
class RunningGateway:
    """A gateway serving from a task of the running loop."""

    host: str
    port: int
    server: uvicorn.Server
    task: asyncio.Task

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stops accepting, finishes open requests, runs the lifespan's end."""
        self.server.should_exit = True
        await self.task


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


async def start_in_loop(
    app: Starlette, host: str = "127.0.0.1", port: int = 0
) -> RunningGateway:
    """Serves ``app`` from a task of the running loop; port 0 picks one."""
    server = HostedServer(_config(app, host, port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"the gateway could not start on {host}:{port}")
        await asyncio.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return RunningGateway(host, bound_port, server, task)


def serve(app: Starlette, host: str, port: int) -> bool:
    """Serves ``app`` until SIGTERM or SIGINT, then lets open requests
    finish; ``False`` when it could not start."""
    server = HostedServer(_config(app, host, port))

    def stop(signum, frame) -> None:
        log.info("gateway stopping")
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server.run()
    return server.started
