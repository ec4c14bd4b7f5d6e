"""Runs the REST gateway: ``python -m gateway``.

Settings come from ``VAXBOOK_GATEWAY_*`` (see ``gateway/config.py``) and the
services' addresses from ``VAXBOOK_<SERVICE>_ADDR``.
"""

from __future__ import annotations

import logging
import sys

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.limits import rate_limiting
from gateway.server import serve
from services.common import logs
from services.common.clock import SystemClock
from services.common.config import ConfigError, Settings

log = logging.getLogger("gateway")


def main() -> int:
    try:
        base = Settings.from_env()
        settings = GatewaySettings.from_env(base=base)
    except ConfigError as error:
        sys.stderr.write(f"gateway: {error}\n")
        return 2
    logs.configure("gateway", settings.log_level)
    try:
        limits = rate_limiting(base, SystemClock())
    except ConfigError as error:
        sys.stderr.write(f"gateway: {error}\n")
        return 2
    app = create_app(
        settings,
        middleware=limits.middleware,
        health_extras=limits.health,
        lifespans=[limits.lifespan],
    )
    log.info(
        "gateway starting",
        extra={"fields": {"url": settings.url, "docs": f"{settings.url}/docs"}},
    )
    return 0 if serve(app, settings.host, settings.port) else 1


if __name__ == "__main__":
    sys.exit(main())
