"""Runs the appointment service: ``python -m services.appointment``."""

import asyncio

from services.appointment.app import build
from services.common.server import serve

if __name__ == "__main__":
    asyncio.run(serve("appointment", build))
