"""Rate limits for the public gateway, as an ASGI middleware.

Each request draws from a few buckets chosen by :class:`RequestClassifier`:
its client address, its signed-in citizen, and stricter buckets for the calls
that send or check one-time codes and for availability searches. Buckets use
GCRA and live in Redis, so every gateway process shares them and the script
judges time by the Redis clock. While Redis does not answer, :class:`Limiter`
keeps them in process instead, so the gateway stays up and still limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import grpc
import redis.asyncio as aioredis
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from prometheus_client import Counter, Gauge
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.ratelimit_config import RateLimitSettings, Rule
from services.common.auth import AuthError, Principal
from services.common.clock import Clock, SystemClock
from services.common.errors import DomainError, to_status_proto

__all__ = [
    "Decision",
    "Limiter",
    "LocalLimiter",
    "RateLimitMiddleware",
    "RateLimitSettings",
    "RedisLimiter",
    "RequestClassifier",
    "Rule",
    "Verifier",
    "connect_redis",
    "too_many_requests",
]

log = logging.getLogger(__name__)

GCRA_SCRIPT = (Path(__file__).parent / "lua" / "gcra.lua").read_text()
# Absorbs rounding in sums of fractional intervals, as the script does.
EPSILON_MS = 0.001
REDIS = "redis"
LOCAL = "local"
SESSION_COOKIE = "vaxbook_session"
# Sign-up and sign-in bodies are small; a larger one is not read for its
# national ID, and only the address limits it.
MAX_READ_BODY_BYTES = 16 * 1024

FALLING_BACK = Gauge(
    "vaxbook_gateway_ratelimit_local",
    "1 while rate limits are kept in process because Redis does not answer.",
)
REFUSED = Counter(
    "vaxbook_gateway_ratelimit_refused_total",
    "Requests refused by a rate limit, by rule.",
    ["rule"],
)

_REDIS_TROUBLE = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True)
class Decision:
    """Whether one request may pass, and if not, how long until it may."""

    allowed: bool
    retry_after_seconds: float
    remaining: int
    rule: Rule


# A bucket key and the rule that governs it.
Keyed = tuple[str, Rule]
RulesFor = Callable[[Request], Awaitable[list[Keyed]]]


def _check_cost(rule: Rule, cost: int) -> None:
    if not 1 <= cost <= rule.burst:
        raise ValueError(f"cost must be from 1 to {rule.burst} for {rule.name!r}")


def _gcra(
    tat_ms: float | None, now_ms: float, rule: Rule, cost: int
) -> tuple[Decision, float | None]:
    """The decision for one bucket, and its new theoretical arrival time
    (``None`` when refused): the same steps as ``lua/gcra.lua``."""
    interval = rule.emission_interval_ms
    window = rule.burst * interval
    tat_ms = now_ms if tat_ms is None else max(tat_ms, now_ms)
    # How far past now the bucket would run if this request passed.
    ahead = tat_ms + cost * interval - now_ms
    if ahead > window + EPSILON_MS:
        return Decision(False, math.ceil(ahead - window) / 1000, 0, rule), None
    remaining = math.floor((window - ahead + EPSILON_MS) / interval)
    return Decision(True, 0.0, remaining, rule), now_ms + ahead


def connect_redis(url: str, timeout_seconds: float) -> aioredis.Redis:
    """A client that fails fast rather than retrying, so a check falls back
    within the timeout."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis(connection_pool=pool)


class RedisLimiter:
    """Buckets in Redis, shared by every gateway process: one script call
    per check."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(GCRA_SCRIPT)

    def bucket_key(self, key: str, rule: Rule) -> str:
        return f"{self.prefix}:ratelimit:{rule.name}:{key}"

    async def check(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        _check_cost(rule, cost)
        allowed, retry_after_ms, remaining = await self._script(
            keys=[self.bucket_key(key, rule)],
            args=[rule.emission_interval_ms, rule.burst, cost],
        )
        return Decision(bool(allowed), retry_after_ms / 1000, remaining, rule)


class LocalLimiter:
    """The same buckets in this process alone, for while Redis is down.

    Every gateway process counts on its own, so n processes let up to n times
    a limit through. Past ``max_buckets``, full buckets are forgotten first,
    then the least recently used.
    """

    def __init__(self, clock: Clock | None = None, max_buckets: int = 100_000):
        self.clock = clock or SystemClock()
        self.max_buckets = max_buckets
        self._tats: dict[str, float] = {}

    def check(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        _check_cost(rule, cost)
        now_ms = self.clock.now().timestamp() * 1000
        bucket = f"{rule.name}:{key}"
        decision, tat = _gcra(self._tats.get(bucket), now_ms, rule, cost)
        if tat is not None:
            self._tats.pop(bucket, None)
            self._tats[bucket] = tat
            self._trim(now_ms)
        return decision

    def __len__(self) -> int:
        """How many buckets are remembered."""
        return len(self._tats)

    def _trim(self, now_ms: float) -> None:
        if len(self._tats) <= self.max_buckets:
            return
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now_ms}
        if len(self._tats) <= self.max_buckets:
            return
        # Down to nine tenths, so a full table is not swept on every request.
        excess = len(self._tats) - self.max_buckets * 9 // 10
        for key in list(self._tats)[:excess]:
            del self._tats[key]


class Limiter:
    """Redis while it answers; the local limiter while it does not.

    A check waits at most ``timeout_seconds`` for Redis. After a failure,
    Redis is tried again by one check every ``retry_seconds``, and taken back
    when it answers. ``mode`` says which is in use, for the gateway's health.
    """

    def __init__(
        self,
        redis: RedisLimiter,
        local: LocalLimiter,
        *,
        timeout_seconds: float = 0.1,
        retry_seconds: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis
        self.local = local
        self.timeout_seconds = timeout_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock or SystemClock()
        self._mode = REDIS
        self._retry_at = 0.0
        FALLING_BACK.set(0)

    @classmethod
    def connect(
        cls,
        redis_url: str,
        key_prefix: str,
        settings: RateLimitSettings,
        clock: Clock | None = None,
    ) -> Limiter:
        """A limiter on its own Redis client; ``key_prefix`` is the
        deployment's (``VAXBOOK_KEY_PREFIX``)."""
        clock = clock or SystemClock()
        client = connect_redis(redis_url, settings.redis_timeout_seconds)
        return cls(
            RedisLimiter(client, key_prefix),
            LocalLimiter(clock),
            timeout_seconds=settings.redis_timeout_seconds,
            retry_seconds=settings.redis_retry_seconds,
            clock=clock,
        )

    @property
    def mode(self) -> str:
        """``"redis"``, or ``"local"`` while falling back."""
        return self._mode

    async def check(self, key: str, rule: Rule, cost: int = 1) -> Decision:
        decision = await self._decide(key, rule, cost)
        if not decision.allowed:
            REFUSED.labels(rule=rule.name).inc()
        return decision

    async def close(self) -> None:
        await self.redis.client.aclose()

    async def _decide(self, key: str, rule: Rule, cost: int) -> Decision:
        probing = self._mode == LOCAL
        if probing and not self._probe_due():
            return self.local.check(key, rule, cost)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                decision = await self.redis.check(key, rule, cost)
        except _REDIS_TROUBLE as error:
            self._fall_back(error)
            return self.local.check(key, rule, cost)
        # Only a check made while falling back may end it: a slow one begun
        # before the failure proves nothing.
        if probing:
            self._recover()
        return decision

    def _now_seconds(self) -> float:
        return self.clock.now().timestamp()

    def _probe_due(self) -> bool:
        """True for the one check that tries Redis again, once it is time."""
        now = self._now_seconds()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_seconds
        return True

    def _fall_back(self, error: BaseException) -> None:
        self._retry_at = self._now_seconds() + self.retry_seconds
        if self._mode == LOCAL:
            return
        self._mode = LOCAL
        FALLING_BACK.set(1)
        log.warning(
            "rate limits fall back to this process: Redis failed (%s)",
            type(error).__name__,
            extra={"fields": {"ratelimit_mode": LOCAL}},
        )

    def _recover(self) -> None:
        self._mode = REDIS
        FALLING_BACK.set(0)
        log.info(
            "rate limits are back on Redis",
            extra={"fields": {"ratelimit_mode": REDIS}},
        )


class Verifier(Protocol):
    """Verifies an access token; :class:`services.common.auth.TokenVerifier`
    kept fresh with the auth service's public keys."""

    def verify(self, token: str) -> Principal: ...


# The public HTTP paths of the calls with stricter limits, from the
# google.api.http options of the auth, inventory and clinic protos.
_SIGN_UP = "/v1/citizens:signUp"
_START_SIGN_IN = "/v1/signInChallenges"
_COMPLETE_SIGN_IN = re.compile(r"/v1/signInChallenges/([^/:]+):complete")
_SEARCHES = (
    re.compile(r"/v1/clinics/[^/]+/slots/[^/]+/availability"),
    re.compile(r"/v1/clinics/[^/]+/slots"),
)


class RequestClassifier:
    """The default ``rules_for``: the buckets a request draws from.

    Every request: its client address. With a bearer token or session cookie
    that verifies: its subject. Sign-up and starting a sign-in: also per
    address and per national ID (keyed by its hash, never in clear);
    completing one: per address and per challenge. Searches: per address.
    """

    def __init__(
        self, settings: RateLimitSettings, verifier: Verifier, id_hash_key: str
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self._id_key = id_hash_key.encode()

    async def __call__(self, request: Request) -> list[Keyed]:
        address = self.client_address(request)
        keyed = [(f"address:{address}", self.settings.address)]
        subject = self.subject(request)
        if subject is not None:
            keyed.append((f"citizen:{subject}", self.settings.citizen))
        return keyed + await self._call_rules(request, address)

    def client_address(self, request: Request) -> str:
        """The peer, or with a trusted proxy in front, the nearest address in
        ``X-Forwarded-For`` that is not a trusted proxy. IPv6 clients share
        a bucket per /64, the block one subscriber usually gets."""
        peer = request.client.host if request.client else ""
        address = _parse_ip(peer)
        if address is None:
            return peer or "unknown"
        hops = _forwarded_hops(request.headers.getlist("x-forwarded-for"))
        while hops and self._trusted(address):
            hop = _parse_ip(hops.pop())
            if hop is None:
                break
            address = hop
        return _bucket_name(address)

    def subject(self, request: Request) -> str | None:
        """The ``sub`` of the request's token, if it verifies."""
        token = _bearer(request.headers.get("authorization", ""))
        token = token or request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            return self.verifier.verify(token).subject
        except AuthError:
            return None

    async def _call_rules(self, request: Request, address: str) -> list[Keyed]:
        path, method = request.url.path, request.method
        if method in ("GET", "HEAD") and any(p.fullmatch(path) for p in _SEARCHES):
            return [(f"address:{address}", self.settings.search)]
        if method != "POST":
            return []
        code = self.settings.one_time_code
        challenge = _COMPLETE_SIGN_IN.fullmatch(path)
        if challenge is not None:
            return [
                (f"complete_sign_in:address:{address}", code),
                (f"complete_sign_in:challenge:{challenge[1]}", code),
            ]
        call = {_SIGN_UP: "sign_up", _START_SIGN_IN: "start_sign_in"}.get(path)
        if call is None:
            return []
        keyed = [(f"{call}:address:{address}", code)]
        national_id = await _national_id(request)
        if national_id is not None:
            keyed.append((f"{call}:national_id:{self._hash(national_id)}", code))
        return keyed

    def _hash(self, national_id: str) -> str:
        message = f"rate-limit\x00{national_id}".encode()
        return hmac.new(self._id_key, message, hashlib.sha256).hexdigest()

    def _trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.settings.trusted_proxies)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _forwarded_hops(headers: list[str]) -> list[str]:
    """Every address ``X-Forwarded-For`` names, the nearest hop last."""
    hops = (hop.strip() for value in headers for hop in value.split(","))
    return [hop for hop in hops if hop]


def _bucket_name(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def _national_id(request: Request) -> str | None:
    """The national ID a sign-up or sign-in body names, spaces and dashes
    dropped as the auth service drops them; ``None`` if it names none."""
    body = await _small_body(request)
    try:
        fields = json.loads(body) if body else None
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    raw = fields.get("nationalId", fields.get("national_id"))
    if not isinstance(raw, str):
        return None
    return raw.replace(" ", "").replace("-", "") or None


async def _small_body(request: Request) -> bytes | None:
    """The body, unless it is over :data:`MAX_READ_BODY_BYTES`; reading
    stops there, and the app still gets the rest."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > MAX_READ_BODY_BYTES:
                    return None
                chunks.append(chunk)
    except ClientDisconnect:
        return None
    return b"".join(chunks)


class _KeptReceive:
    """A receive channel that keeps what the classifier read, then hands it
    to the app, so the app still gets the whole body."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._kept: deque[Message] = deque()

    async def keep(self) -> Message:
        message = await self._receive()
        self._kept.append(message)
        return message

    async def replay(self) -> Message:
        if self._kept:
            return self._kept.popleft()
        return await self._receive()


class RateLimitMiddleware:
    """Answers 429 to a request over any of its limits; passes the rest on.

    ``rules_for`` names the buckets a request draws from (by default a
    :class:`RequestClassifier`). A request draws from all of them at once; if
    several refuse, the longest wait is the one reported.
    """

    def __init__(self, app: ASGIApp, limiter: Limiter, rules_for: RulesFor) -> None:
        self.app = app
        self.limiter = limiter
        self.rules_for = rules_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kept = _KeptReceive(receive)
        keyed = await self.rules_for(Request(scope, kept.keep))
        refusal = await self._refusal(keyed)
        if refusal is not None:
            await too_many_requests(refusal)(scope, kept.replay, send)
            return
        await self.app(scope, kept.replay, send)

    async def _refusal(self, keyed: list[Keyed]) -> Decision | None:
        decisions = await asyncio.gather(
            *(self.limiter.check(key, rule) for key, rule in keyed)
        )
        refused = [decision for decision in decisions if not decision.allowed]
        return max(refused, key=lambda d: d.retry_after_seconds, default=None)


def too_many_requests(decision: Decision) -> JSONResponse:
    """HTTP 429 with ``Retry-After`` in whole seconds, at least 1, and the
    ``google.rpc.Status`` body the gateway gives for every error."""
    wait_seconds = max(1, math.ceil(decision.retry_after_seconds))
    return JSONResponse(
        json_format.MessageToDict(_refusal_status(decision, wait_seconds)),
        status_code=429,
        headers={"Retry-After": str(wait_seconds)},
    )


def _refusal_status(decision: Decision, wait_seconds: int) -> status_pb2.Status:
    rule = decision.rule
    error = DomainError(
        "RATE_LIMITED",
        f"too many requests: the {rule.name} limit allows {rule.describe()}; "
        f"retry in {wait_seconds} s",
        code=grpc.StatusCode.RESOURCE_EXHAUSTED,
        metadata={"rule": rule.name},
    )
    status = to_status_proto(error)
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromTimedelta(timedelta(seconds=decision.retry_after_seconds))
    status.details.add().Pack(retry)
    return status
