"""Runs the eligibility service: ``python -m services.eligibility``."""

import asyncio

from services.common.server import serve
from services.eligibility.app import build

if __name__ == "__main__":
    asyncio.run(serve("eligibility", build))
