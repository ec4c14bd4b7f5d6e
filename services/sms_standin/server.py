"""Running the stand-in inside an existing event loop, on any free port."""

from __future__ import annotations

from services.common.standin import RunningStandin, start_in_loop
from services.sms_standin.app import Standin, create_app

__all__ = ["RunningStandin", "start_standin"]


async def start_standin(
    standin: Standin, host: str = "127.0.0.1", port: int = 0
) -> RunningStandin:
    """Serves ``standin`` from a task of the running loop; port 0 picks one."""
    return await start_in_loop(create_app(standin), standin, host, port)
