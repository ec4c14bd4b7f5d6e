"""Runs the audit service: ``python -m services.audit``."""

import asyncio

from services.audit.app import build
from services.common.server import serve

if __name__ == "__main__":
    asyncio.run(serve("audit", build))
