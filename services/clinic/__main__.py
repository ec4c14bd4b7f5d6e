"""Runs the clinic service: ``python -m services.clinic``."""

import asyncio

from services.clinic.app import build
from services.common.server import serve

if __name__ == "__main__":
    asyncio.run(serve("clinic", build))
