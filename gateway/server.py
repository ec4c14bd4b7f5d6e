"""Serving the gateway with uvicorn: as a process of its own, stopping
gracefully on SIGTERM or Ctrl-C, or inside a running event loop for tests."""

from __future__ import annotations

import logging
import signal

import uvicorn
from starlette.applications import Starlette

from services.common.standin import Hosted, HostedServer, host_in_loop

log = logging.getLogger(__name__)

# Open requests get this long to finish once a stop is asked for; calls to
# the services have their own, shorter deadline.
SHUTDOWN_GRACE_SECONDS = 10


# A gateway serving from a task of the running loop.
RunningGateway = Hosted


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
    return await host_in_loop(_config(app, host, port))


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
