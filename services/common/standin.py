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
class Hosted:
    """An HTTP application served from a task of the running loop: where it
    listens, and how to stop it."""

    host: str
    port: int
    server: uvicorn.Server
    task: asyncio.Task

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stops accepting, finishes open requests (and runs the end of the
        lifespan, if any), then waits for the end."""
        self.server.should_exit = True
        await self.task


@dataclass
class RunningStandin(Hosted):
    """A started stand-in, with its state."""

    standin: Any = None


async def host_in_loop(config: uvicorn.Config) -> Hosted:
    """Serves ``config``'s application from a task of the running loop, once
    it listens; port 0 picks one."""
    server = HostedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"nothing could listen on {config.host}:{config.port}")
        await asyncio.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return Hosted(config.host, bound_port, server, task)


async def start_in_loop(
    app: Starlette, standin: Any, host: str = "127.0.0.1", port: int = 0
) -> RunningStandin:
    """Serves a stand-in's ``app`` from a task of the running loop."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False
    )
    hosted = await host_in_loop(config)
    return RunningStandin(
        hosted.host, hosted.port, hosted.server, hosted.task, standin=standin
    )


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
