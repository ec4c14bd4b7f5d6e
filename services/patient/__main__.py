"""Runs the patient service: ``python -m services.patient``."""

import asyncio

from services.common.server import serve
from services.patient.app import build

if __name__ == "__main__":
    asyncio.run(serve("patient", build))
