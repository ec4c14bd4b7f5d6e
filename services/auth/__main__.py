"""Runs the auth service: ``python -m services.auth``."""

import asyncio

from services.auth.app import build
from services.common.server import serve

if __name__ == "__main__":
    asyncio.run(serve("auth", build))
