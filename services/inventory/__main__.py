"""Runs the inventory service: ``python -m services.inventory``."""

import asyncio

from services.common.server import serve
from services.inventory.app import build

if __name__ == "__main__":
    asyncio.run(serve("inventory", build))
