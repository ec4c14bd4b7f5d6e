"""Rate limits mounted on the gateway: the limiter over Redis (or in process
while Redis is away), the request classifier with a token verifier kept in
step with the auth service's signing keys, the health field saying which
limiter is in use, and their start and stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware

from gateway.app import LifespanHook
from gateway.ratelimit import (
    Limiter,
    RateLimitMiddleware,
    RateLimitSettings,
    RequestClassifier,
)
from services.common.access import ServiceAccess
from services.common.auth import AuthError, Principal
from services.common.clock import Clock
from services.common.config import Settings


class _AuthKeys:
    """Verifies tokens with the auth service's signing keys, once the
    gateway has started and fetched them."""

    def __init__(self) -> None:
        self.access: ServiceAccess | None = None

    def verify(self, token: str) -> Principal:
        if self.access is None:
            raise AuthError.unauthenticated(
                "GATEWAY_STARTING", "the gateway has not loaded signing keys yet"
            )
        return self.access.verifier.verify(token)


@dataclass(frozen=True)
class RateLimiting:
    """What ``create_app`` takes to limit requests."""

    middleware: list[Middleware]
    health: Callable[[], dict[str, str]]
    lifespan: LifespanHook


def rate_limiting(
    base: Settings, clock: Clock, rates: RateLimitSettings | None = None
) -> RateLimiting:
    rates = rates or RateLimitSettings.from_env()
    limiter = Limiter.connect(base.redis_url, base.key_prefix, rates)
    # Citizens are told apart by verified tokens only: a forged one names
    # nobody, so it cannot spend another citizen's allowance.
    verifier = _AuthKeys()
    classifier = RequestClassifier(rates, verifier, base.id_hash_key)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Made here: its channel to the auth service belongs to this loop.
        verifier.access = await ServiceAccess.start(base, clock, "gateway")
        try:
            yield
        finally:
            await verifier.access.close()
            await limiter.close()

    return RateLimiting(
        middleware=[
            Middleware(RateLimitMiddleware, limiter=limiter, rules_for=classifier)
        ],
        health=lambda: {"rateLimiter": limiter.mode},
        lifespan=lifespan,
    )
