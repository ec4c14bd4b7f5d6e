"""Hosting the small HTTP stand-ins (insurer, SMS provider) with uvicorn:
inside a running event loop for tests, or as a process of their own."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette


class HostedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the host process."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningStandin:
    """A started stand-in: its state, where it listens, and how to stop it."""

    standin: Any
    host: str
    port: int
    server: uvicorn.Server
    task: asyncio.Task

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stops accepting, finishes open requests, and waits for the end."""
        self.server.should_exit = True
        await self.task


async def start_in_loop(
    app: Starlette, standin: Any, host: str = "127.0.0.1", port: int = 0
) -> RunningStandin:
    """Serves ``app`` from a task of the running loop; port 0 picks one."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False
    )
    server = HostedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"the stand-in could not listen on {host}:{port}")
        await asyncio.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return RunningStandin(standin, host, bound_port, server, task)


def serve(app: Starlette, host: str, port: int) -> None:
    """Serves ``app`` until Ctrl-C or SIGTERM, which finish open requests and
    return, so the process exits with status 0."""
    server = HostedServer(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )

    def stop(signum, frame) -> None:
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server.run()
