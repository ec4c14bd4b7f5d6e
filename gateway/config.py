"""Typed settings of the REST gateway, from ``VAXBOOK_GATEWAY_*`` variables.

| variable | default | meaning |
|---|---|---|
| ``HOST`` | ``VAXBOOK_LISTEN_HOST`` | interface the gateway binds |
| ``PORT`` | ``8080`` | its HTTP port |
| ``DEADLINE_SECONDS`` | ``5`` | deadline of every call to a service |
| ``MAX_BODY_BYTES`` | ``1048576`` | largest JSON body taken |
| ``COOKIE_SECURE`` | ``false`` | cookies over HTTPS only; set it in production |
| ``COOKIE_DOMAIN`` | unset | domain of the session cookies; unset: this host |
| ``DESCRIPTOR_SET`` | beside ``generated/vaxbook`` | protos with comments |

Where each service listens comes from the shared settings
(``VAXBOOK_<SERVICE>_ADDR``), so the gateway and the services agree on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.config import EnvReader, Settings

PREFIX = "VAXBOOK_GATEWAY_"
DEFAULT_PORT = 8080
DEFAULT_DEADLINE_SECONDS = 5.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway process needs to start."""

    host: str
    port: int
    service_addrs: dict[str, str]
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Browsers send a Secure cookie over HTTPS only; off for local HTTP.
    cookie_secure: bool = False
    cookie_domain: str = ""
    # Empty: looked for beside the generated code (see ``descriptors``).
    descriptor_set_path: str = ""
    log_level: str = "INFO"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, base: Settings | None = None
    ) -> GatewaySettings:
        """Reads ``environ`` (the process environment by default); ``base``
        gives the service addresses and the default host."""
        environ = os.environ if environ is None else environ
        base = base or Settings.from_env()
        env = EnvReader(PREFIX, environ)
        return cls(
            host=env.text("HOST", base.listen_host),
            port=env.whole("PORT", DEFAULT_PORT),
            service_addrs=dict(base.service_addrs),
            deadline_seconds=env.number("DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS),
            max_body_bytes=env.whole("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            cookie_secure=env.flag("COOKIE_SECURE", False),
            cookie_domain=env.text("COOKIE_DOMAIN", ""),
            descriptor_set_path=env.text("DESCRIPTOR_SET", ""),
            log_level=base.log_level,
        )

    @property
    def url(self) -> str:
        """Where the gateway answers, for people to read."""
        return f"http://{self.host}:{self.port}"
