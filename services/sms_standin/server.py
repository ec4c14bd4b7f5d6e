"""Running the stand-in inside an existing event loop, on any free port."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn

from services.insurance_standin.server import HostedServer
from services.sms_standin.app import Standin, create_app


@dataclass
class RunningStandin:
    """A started stand-in: its state, where it listens, and how to stop it."""

    standin: Standin
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


async def start_standin(
    standin: Standin, host: str = "127.0.0.1", port: int = 0
) -> RunningStandin:
    """Serves ``standin`` from a task of the running loop; port 0 picks one."""
    config = uvicorn.Config(
        create_app(standin),
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
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
