"""Typed settings read from ``VAXBOOK_*`` environment variables.

Defaults work on a developer machine; ``vaxbook up`` fills in the server URLs
when it starts its own PostgreSQL, Redis and NATS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# In start-up order: auth first, since the others fetch its signing keys.
SERVICES = (
    "auth",
    "clinic",
    "inventory",
    "patient",
    "eligibility",
    "appointment",
    "audit",
    "notification",
)

# Where each service listens by default: gRPC port and Prometheus metrics port.
DEFAULT_GRPC_PORTS = {
    "clinic": 50051,
    "inventory": 50052,
    "appointment": 50053,
    "auth": 50054,
    "patient": 50055,
    "eligibility": 50056,
    "audit": 50057,
    "notification": 50058,
}
DEFAULT_METRICS_PORTS = {
    "clinic": 9101,
    "inventory": 9102,
    "appointment": 9103,
    "auth": 9104,
    "patient": 9105,
    "eligibility": 9106,
    "audit": 9107,
    "notification": 9108,
}

# Keys the national ID hash in development only; production sets its own.
DEV_ID_HASH_KEY = "vaxbook-development-id-hash-key"
# Seeds the key services sign their calls to each other with, in development
# only; production sets its own.
DEV_SERVICE_KEY = "vaxbook-development-service-key"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"{name} must be set")
    return value


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a service process needs to start."""

    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    nats_url: str
    event_prefix: str
    key_prefix: str
    hold_ttl_seconds: int
    listen_host: str
    service_addrs: dict[str, str]
    metrics_ports: dict[str, int]
    log_level: str
    id_hash_key: str = field(repr=False)
    dev_outbox_path: str
    service_key: str = field(default=DEV_SERVICE_KEY, repr=False)
    # How long past its first expiry a hold may be kept while eligibility
    # waits for the insurance API or for itself to answer.
    eligibility_max_wait_seconds: int = 60
    # How long after a confirmed appointment's slot ends it becomes NO_SHOW.
    no_show_grace_seconds: int = 3600
    # How often inventory compares Redis with PostgreSQL; drift seen unchanged
    # on two passes in a row is repaired.
    reconcile_interval_seconds: int = 30
    # A rebooking offer looks for a slot starting at most this many days from
    # the cancelled one, and holds its seat this long for the citizen alone.
    rebooking_window_days: int = 7
    rebooking_offer_seconds: int = 86400

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=_env(
                "VAXBOOK_DATABASE_URL",
                "postgresql+psycopg://postgres@127.0.0.1:5432/vaxbook",
            ),
            redis_url=_env("VAXBOOK_REDIS_URL", "redis://127.0.0.1:6379/0"),
            nats_url=_env("VAXBOOK_NATS_URL", "nats://127.0.0.1:4222"),
            event_prefix=_env("VAXBOOK_EVENT_PREFIX", "vaxbook"),
            key_prefix=_env("VAXBOOK_KEY_PREFIX", "vb"),
            hold_ttl_seconds=_env_int("VAXBOOK_HOLD_TTL_SECONDS", 300, minimum=1),
            listen_host=_env("VAXBOOK_LISTEN_HOST", "127.0.0.1"),
            service_addrs={
                name: _env(
                    f"VAXBOOK_{name.upper()}_ADDR",
                    f"127.0.0.1:{DEFAULT_GRPC_PORTS[name]}",
                )
                for name in SERVICES
            },
            metrics_ports={
                name: _env_int(
                    f"VAXBOOK_{name.upper()}_METRICS_PORT", DEFAULT_METRICS_PORTS[name]
                )
                for name in SERVICES
            },
            log_level=_env("VAXBOOK_LOG_LEVEL", "INFO").upper(),
            id_hash_key=_env("VAXBOOK_ID_HASH_KEY", DEV_ID_HASH_KEY),
            dev_outbox_path=os.environ.get("VAXBOOK_DEV_OUTBOX", ""),
            service_key=_env("VAXBOOK_SERVICE_KEY", DEV_SERVICE_KEY),
            eligibility_max_wait_seconds=_env_int(
                "VAXBOOK_ELIGIBILITY_MAX_WAIT_SECONDS", 60, minimum=1
            ),
            no_show_grace_seconds=_env_int(
                "VAXBOOK_NO_SHOW_GRACE_SECONDS", 3600, minimum=0
            ),
            reconcile_interval_seconds=_env_int(
                "VAXBOOK_RECONCILE_INTERVAL_SECONDS", 30, minimum=1
            ),
            rebooking_window_days=_env_int(
                "VAXBOOK_REBOOKING_WINDOW_DAYS", 7, minimum=0
            ),
            rebooking_offer_seconds=_env_int(
                "VAXBOOK_REBOOKING_OFFER_SECONDS", 86400, minimum=60
            ),
        )

    def listen_addr(self, service: str) -> str:
        """The address a service binds: the listen host and its own port."""
        port = self.service_addrs[service].rsplit(":", 1)[1]
        return f"{self.listen_host}:{port}"


_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


class EnvReader:
    """Reads variables under one prefix, naming the variable on failure."""

    def __init__(self, prefix: str, environ: Mapping[str, str]) -> None:
        self.prefix = prefix
        self.environ = environ

    def text(self, name: str, default: str) -> str:
        return self.environ.get(self.prefix + name) or default

    def number(self, name: str, default: float) -> float:
        raw = self.environ.get(self.prefix + name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"{self.prefix}{name} must be a number, got {raw!r}"
            ) from None
        if value <= 0:
            raise ConfigError(f"{self.prefix}{name} must be above 0, got {raw!r}")
        return value

    def whole(self, name: str, default: int) -> int:
        value = self.number(name, default)
        if not float(value).is_integer():
            raise ConfigError(
                f"{self.prefix}{name} must be a whole number, got {value}"
            )
        return int(value)

    def flag(self, name: str, default: bool) -> bool:
        raw = (self.environ.get(self.prefix + name) or "").lower()
        if not raw:
            return default
        if raw not in _TRUE_WORDS | _FALSE_WORDS:
            raise ConfigError(f"{self.prefix}{name} must be true or false, got {raw!r}")
        return raw in _TRUE_WORDS
