"""Runs the notification service: ``python -m services.notification``."""

import asyncio

from services.common.server import serve
from services.notification.app import build

if __name__ == "__main__":
    asyncio.run(serve("notification", build))
