"""Typed settings of the gateway's rate limits, from ``VAXBOOK_GATEWAY_RATE_*``.

| variable | default | limits |
|---|---|---|
| ``ADDRESS_PER_SECOND``, ``ADDRESS_BURST`` | ``20``, ``40`` | each client address |
| ``CITIZEN_PER_SECOND``, ``CITIZEN_BURST`` | ``10``, ``20`` | each signed-in account |
| ``CODE_PER_MINUTE``, ``CODE_BURST`` | ``5``, ``5`` | one-time-code calls |
| ``SEARCH_PER_SECOND``, ``SEARCH_BURST`` | ``5``, ``10`` | searches per address |
| ``TRUSTED_PROXIES`` | none | |
| ``REDIS_TIMEOUT_SECONDS`` | ``0.1`` | |
| ``REDIS_RETRY_SECONDS`` | ``5`` | |

A burst is how many requests may arrive at once; after it, requests pass at
the rate. One-time-code calls (sign-up, starting and completing a sign-in)
are limited per call, per address and per national ID or challenge; searches
are availability checks and slot listings. ``TRUSTED_PROXIES`` lists, comma
separated, the addresses or networks whose ``X-Forwarded-For`` is believed.
A check waits ``REDIS_TIMEOUT_SECONDS`` for Redis before falling back to
counting in process, and Redis is tried again every ``REDIS_RETRY_SECONDS``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.config import ConfigError, EnvReader

_PREFIX = "VAXBOOK_GATEWAY_RATE_"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rule:
    """A limit: ``rate_per_second`` on average, ``burst`` requests at once."""

    name: str
    rate_per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0:
            raise ValueError(f"rule {self.name!r}: rate_per_second must be above 0")
        if self.burst < 1:
            raise ValueError(f"rule {self.name!r}: burst must be at least 1")

    @property
    def emission_interval_ms(self) -> float:
        """The time one request uses up of the bucket."""
        return 1000.0 / self.rate_per_second

    def describe(self) -> str:
        """The limit in words, for the message of a refusal."""
        if self.rate_per_second < 1:
            rate = f"{self.rate_per_second * 60:g} a minute"
        else:
            rate = f"{self.rate_per_second:g} a second"
        return f"{rate}, {self.burst} at once"


@dataclass(frozen=True)
class RateLimitSettings:
    """Which limits apply, whom to believe about client addresses, and how
    long to wait for Redis."""

    address: Rule = Rule("address", 20.0, 40)
    citizen: Rule = Rule("citizen", 10.0, 20)
    one_time_code: Rule = Rule("one_time_code", 5 / 60, 5)
    search: Rule = Rule("search", 5.0, 10)
    trusted_proxies: tuple[IpNetwork, ...] = ()
    redis_timeout_seconds: float = 0.1
    redis_retry_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RateLimitSettings:
        env = EnvReader(_PREFIX, environ)
        defaults = cls()
        code_per_minute = env.number(
            "CODE_PER_MINUTE", defaults.one_time_code.rate_per_second * 60
        )
        return cls(
            address=_rule(env, "ADDRESS", defaults.address),
            citizen=_rule(env, "CITIZEN", defaults.citizen),
            one_time_code=Rule(
                defaults.one_time_code.name,
                code_per_minute / 60,
                env.whole("CODE_BURST", defaults.one_time_code.burst),
            ),
            search=_rule(env, "SEARCH", defaults.search),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            redis_timeout_seconds=env.number(
                "REDIS_TIMEOUT_SECONDS", defaults.redis_timeout_seconds
            ),
            redis_retry_seconds=env.number(
                "REDIS_RETRY_SECONDS", defaults.redis_retry_seconds
            ),
        )


def _rule(env: EnvReader, variable: str, default: Rule) -> Rule:
    return Rule(
        default.name,
        env.number(f"{variable}_PER_SECOND", default.rate_per_second),
        env.whole(f"{variable}_BURST", default.burst),
    )


def _networks(env: EnvReader, variable: str) -> tuple[IpNetwork, ...]:
    """Parses a comma-separated list of addresses and networks."""
    raw = env.text(variable, "")
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{env.prefix}{variable} must list IP addresses or networks, "
                f"got {item!r}"
            ) from None
    return tuple(networks)
