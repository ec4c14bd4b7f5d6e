"""Gateway rate limits: GCRA buckets on the real Redis, the in-process
fallback while Redis is down, and the middleware on a small Starlette app."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.ratelimit import (
    Limiter,
    LocalLimiter,
    RateLimitMiddleware,
    RateLimitSettings,
    RedisLimiter,
    RequestClassifier,
    Rule,
    connect_redis,
)
from services.common.auth import Principal, Role, TokenSigner, TokenVerifier
from services.common.clock import FakeClock
from services.common.config import ConfigError
from services.devstack import free_port, start_redis
from tests.polling import eventually

CITIZEN = Principal("citizens/asha", Role.CITIZEN)
NATIONAL_ID = "2345 6789 0124"
ID_HASH_KEY = "test-id-hash-key"
TIMEOUT_SECONDS = 0.2


def new_clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
async def redis_client(servers):
    client = connect_redis(servers.redis_url, timeout_seconds=1.0)
    yield client
    await client.aclose()


@pytest.fixture
def redis_limiter(redis_client) -> RedisLimiter:
    """Buckets under a prefix of this test's own."""
    return RedisLimiter(redis_client, f"vbtest-ratelimit-{uuid.uuid4().hex[:10]}")


def limiter_on(url: str, clock: FakeClock, retry_seconds: float = 5.0) -> Limiter:
    redis = RedisLimiter(connect_redis(url, TIMEOUT_SECONDS), f"vbtest-{uuid.uuid4()}")
    return Limiter(
        redis,
        LocalLimiter(clock),
        timeout_seconds=TIMEOUT_SECONDS,
        retry_seconds=retry_seconds,
        clock=clock,
    )


async def allowed_count(check: Callable, times: int) -> int:
    decisions = [await check() for _ in range(times)]
    return sum(decision.allowed for decision in decisions)


# The Redis buckets.


async def test_a_full_burst_passes_and_the_next_request_waits_one_interval(
    redis_limiter,
):
    rule = Rule("steady", rate_per_second=1, burst=3)

    passed = [await redis_limiter.check("client-a", rule) for _ in range(3)]
    refused = await redis_limiter.check("client-a", rule)

    assert [d.allowed for d in passed] == [True, True, True]
    assert [d.remaining for d in passed] == [2, 1, 0]
    assert not refused.allowed
    assert 0.9 < refused.retry_after_seconds <= 1.0
    assert refused.rule == rule


async def test_a_refused_client_passes_again_once_the_rate_refills(redis_limiter):
    rule = Rule("refill", rate_per_second=10, burst=2)
    assert await allowed_count(lambda: redis_limiter.check("c", rule), 3) == 2

    async def passes() -> bool:
        return (await redis_limiter.check("c", rule)).allowed

    await eventually(passes, timeout_seconds=1.0)


async def test_two_clients_have_independent_buckets(redis_limiter):
    rule = Rule("independent", rate_per_second=1, burst=2)
    assert await allowed_count(lambda: redis_limiter.check("one", rule), 3) == 2

    assert await allowed_count(lambda: redis_limiter.check("two", rule), 2) == 2


async def test_concurrent_requests_never_pass_more_than_burst_plus_rate(
    redis_limiter,
):
    rule = Rule("crowd", rate_per_second=10, burst=20)
    loop = asyncio.get_running_loop()
    started = loop.time()

    decisions = await asyncio.gather(
        *(redis_limiter.check("hot", rule) for _ in range(300))
    )

    elapsed_seconds = loop.time() - started
    assert elapsed_seconds < 1.0
    passed = sum(d.allowed for d in decisions)
    assert rule.burst <= passed <= rule.burst + rule.rate_per_second


async def test_a_bucket_key_expires_once_the_bucket_is_full_again(
    redis_limiter, redis_client
):
    rule = Rule("idle", rate_per_second=10, burst=5)
    await redis_limiter.check("quiet", rule)

    ttl_ms = await redis_client.pttl(redis_limiter.bucket_key("quiet", rule))

    assert 0 < ttl_ms <= 100


# The in-process buckets.


def test_the_local_limiter_refuses_past_the_burst_until_time_refills_it():
    clock = new_clock()
    local = LocalLimiter(clock)
    rule = Rule("local", rate_per_second=2, burst=2)

    assert [local.check("c", rule).allowed for _ in range(2)] == [True, True]
    refused = local.check("c", rule)
    clock.advance(0.5)

    assert (refused.allowed, refused.retry_after_seconds) == (False, 0.5)
    assert local.check("c", rule).allowed
    assert not local.check("c", rule).allowed


def test_the_local_limiter_forgets_full_buckets_first_when_it_has_too_many():
    clock = new_clock()
    local = LocalLimiter(clock, max_buckets=10)
    rule = Rule("many", rate_per_second=1, burst=1)
    for index in range(5):
        local.check(f"old-{index}", rule)
    clock.advance(2)

    for index in range(10):
        local.check(f"new-{index}", rule)

    assert len(local) == 10
    assert not any(local.check(f"new-{index}", rule).allowed for index in range(10))


# Falling back while Redis is down, and coming back.


async def test_with_redis_unreachable_the_limiter_falls_back_and_still_limits(
    caplog,
):
    limiter = limiter_on(f"redis://127.0.0.1:{free_port()}/0", new_clock())
    rule = Rule("fallback", rate_per_second=1, burst=2)

    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
        decisions = await asyncio.gather(*(limiter.check("c", rule) for _ in range(5)))

    assert sum(d.allowed for d in decisions) == 2
    assert limiter.mode == "local"
    assert REGISTRY.get_sample_value("vaxbook_gateway_ratelimit_local") == 1
    warnings = [r for r in caplog.records if r.name == "gateway.ratelimit"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    await limiter.close()


async def test_the_limiter_goes_back_to_redis_once_redis_answers(tmp_path, caplog):
    clock = new_clock()
    port = free_port()
    limiter = limiter_on(f"redis://127.0.0.1:{port}/0", clock, retry_seconds=5)
    rule = Rule("comeback", rate_per_second=1, burst=5)
    await limiter.check("c", rule)
    assert limiter.mode == "local"

    server = start_redis(tmp_path / "redis", port)
    try:
        await limiter.check("c", rule)
        stays_local_until_retry = limiter.mode
        clock.advance(5)
        with caplog.at_level(logging.INFO, logger="gateway.ratelimit"):
            await limiter.check("c", rule)
    finally:
        await limiter.close()
        server.stop()

    assert stays_local_until_retry == "local"
    assert limiter.mode == "redis"
    assert REGISTRY.get_sample_value("vaxbook_gateway_ratelimit_local") == 0
    assert "back on Redis" in caplog.text


async def test_a_redis_that_does_not_answer_in_time_counts_as_down():
    async def never_answer(reader, writer) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = limiter_on(f"redis://127.0.0.1:{port}/0", new_clock())
    loop = asyncio.get_running_loop()
    started = loop.time()

    decision = await limiter.check("c", Rule("stalled", rate_per_second=1, burst=1))

    assert decision.allowed
    assert limiter.mode == "local"
    assert loop.time() - started < 1.0
    await limiter.close()
    server.close()
    await server.wait_closed()


async def test_refusals_are_counted_by_rule(redis_limiter):
    limiter = Limiter(redis_limiter, LocalLimiter())
    rule = Rule("counted", rate_per_second=1, burst=1)

    await allowed_count(lambda: limiter.check("c", rule), 4)

    refused = REGISTRY.get_sample_value(
        "vaxbook_gateway_ratelimit_refused_total", {"rule": "counted"}
    )
    assert refused == 3


# Settings.


def test_rate_settings_default_to_the_documented_limits():
    settings = RateLimitSettings.from_env({})

    assert (settings.address.rate_per_second, settings.address.burst) == (20, 40)
    assert (settings.citizen.rate_per_second, settings.citizen.burst) == (10, 20)
    assert settings.one_time_code.rate_per_second * 60 == pytest.approx(5)
    assert (settings.search.rate_per_second, settings.search.burst) == (5, 10)
    assert settings.trusted_proxies == ()


def test_rate_settings_are_read_from_their_variables():
    settings = RateLimitSettings.from_env(
        {
            "VAXBOOK_GATEWAY_RATE_ADDRESS_PER_SECOND": "50",
            "VAXBOOK_GATEWAY_RATE_CODE_PER_MINUTE": "3",
            "VAXBOOK_GATEWAY_RATE_CODE_BURST": "2",
            "VAXBOOK_GATEWAY_RATE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7",
        }
    )

    assert settings.address.rate_per_second == 50
    assert settings.one_time_code.rate_per_second * 60 == pytest.approx(3)
    assert settings.one_time_code.burst == 2
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VAXBOOK_GATEWAY_RATE_ADDRESS_PER_SECOND", "fast"),
        ("VAXBOOK_GATEWAY_RATE_CITIZEN_BURST", "2.5"),
        ("VAXBOOK_GATEWAY_RATE_SEARCH_BURST", "0"),
        ("VAXBOOK_GATEWAY_RATE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
    ],
)
def test_a_bad_rate_setting_fails_at_start_up_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        RateLimitSettings.from_env({variable: value})


# The middleware on a small app.

_START = "/v1/signInChallenges"
SLOTS = "/v1/clinics/-/slots"
# Three clients, each at its own address.
ADDRESSES = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
SETTINGS = RateLimitSettings(
    address=Rule("address", rate_per_second=0.5, burst=3),
    citizen=Rule("citizen", rate_per_second=0.5, burst=2),
    one_time_code=Rule("one_time_code", rate_per_second=5 / 60, burst=2),
    search=Rule("search", rate_per_second=0.5, burst=1),
    trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),),
)


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner("key-one", Ed25519PrivateKey.generate(), new_clock())


@pytest.fixture
def classifier(signer) -> RequestClassifier:
    verifier = TokenVerifier({signer.key_id: signer.public_key()}, signer.clock)
    return RequestClassifier(SETTINGS, verifier, ID_HASH_KEY)


@pytest.fixture
def gateway(redis_limiter, classifier) -> Starlette:
    """An app that echoes what reached it, behind the rate limits."""

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"path": request.url.path, "body_bytes": len(body)})

    limiter = Limiter(redis_limiter, LocalLimiter())
    return Starlette(
        routes=[Route("/{path:path}", echo, methods=["GET", "POST"])],
        middleware=[
            Middleware(RateLimitMiddleware, limiter=limiter, rules_for=classifier)
        ],
    )


def client_at(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def status_codes(app, addresses: list[str], method: str, path: str, **kw):
    """One request from each address in turn; their status codes."""
    codes = []
    for address in addresses:
        async with client_at(app, address) as client:
            codes.append((await client.request(method, path, **kw)).status_code)
    return codes


def refusal_status(response: httpx.Response) -> status_pb2.Status:
    return json_format.Parse(response.text, status_pb2.Status())


def detail(status: status_pb2.Status, kind):
    for packed in status.details:
        if packed.Is(kind.DESCRIPTOR):
            unpacked = kind()
            packed.Unpack(unpacked)
            return unpacked
    raise AssertionError(f"no {kind.DESCRIPTOR.name} detail")


def request_to(
    path: str,
    method: str = "GET",
    peer: str = "203.0.113.7",
    body: bytes = b"",
    **headers: str,
) -> Request:
    """A request as the classifier sees it; header names in snake case."""

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [
            (name.replace("_", "-").encode(), value.encode())
            for name, value in headers.items()
        ],
        "client": (peer, 50123),
    }
    return Request(scope, receive)


async def test_over_the_limit_the_gateway_answers_429_with_retry_after_and_status(
    gateway,
):
    async with client_at(gateway, "203.0.113.7") as client:
        for _ in range(3):
            assert (await client.get("/v1/clinics")).status_code == 200
        refused = await client.get("/v1/clinics")

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    status = refusal_status(refused)
    assert status.code == 8
    assert "address" in status.message
    info = detail(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["rule"]) == ("RATE_LIMITED", "address")
    delay = detail(status, error_details_pb2.RetryInfo).retry_delay.ToTimedelta()
    assert 1.9 < delay.total_seconds() <= 2.0


async def test_each_client_address_has_its_own_bucket(gateway):
    first = await status_codes(gateway, ["203.0.113.7"] * 4, "GET", "/v1/clinics")
    second = await status_codes(gateway, ["203.0.113.8"] * 3, "GET", "/v1/clinics")

    assert first == [200, 200, 200, 429]
    assert second == [200, 200, 200]


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(classifier):
    from_proxy = request_to(
        "/v1/clinics", peer="10.0.0.1", x_forwarded_for="10.9.9.9, 198.51.100.4"
    )
    spoofed = request_to("/v1/clinics", x_forwarded_for="198.51.100.4")

    assert classifier.client_address(from_proxy) == "198.51.100.4"
    assert classifier.client_address(spoofed) == "203.0.113.7"


def test_a_client_cannot_hide_behind_an_address_it_forwards_itself(classifier):
    request = request_to(
        "/v1/clinics", peer="10.0.0.1", x_forwarded_for="10.0.0.2, 198.51.100.4"
    )

    assert classifier.client_address(request) == "198.51.100.4"


def test_ipv6_clients_share_a_bucket_per_64_block(classifier):
    one = classifier.client_address(request_to("/v1/clinics", peer="2001:db8::1"))
    two = classifier.client_address(request_to("/v1/clinics", peer="2001:db8::ff"))

    assert one == two == "2001:db8::/64"


async def test_a_verified_citizen_shares_one_bucket_across_addresses(gateway, signer):
    headers = {"authorization": f"Bearer {signer.mint(CITIZEN).token}"}

    codes = await status_codes(gateway, ADDRESSES, "GET", "/v1/x", headers=headers)

    assert codes == [200, 200, 429]


async def test_a_session_cookie_names_the_citizen_like_a_bearer_token(
    classifier, signer
):
    cookie = f"vaxbook_session={signer.mint(CITIZEN).token}"

    keys = [key for key, _ in await classifier(request_to("/v1/x", cookie=cookie))]

    assert "citizen:citizens/asha" in keys


async def test_an_invalid_token_gets_no_citizen_bucket(gateway, classifier):
    forger = TokenSigner("key-one", Ed25519PrivateKey.generate(), new_clock())
    headers = {"authorization": f"Bearer {forger.mint(CITIZEN).token}"}

    keyed = await classifier(request_to("/v1/x", **headers))
    codes = await status_codes(gateway, ADDRESSES, "GET", "/v1/x", headers=headers)

    assert [rule.name for _, rule in keyed] == ["address"]
    assert codes == [200, 200, 200]


async def test_sign_ins_for_one_national_id_are_limited_across_addresses(gateway):
    body = {"nationalId": NATIONAL_ID, "requestId": "r-1"}

    replies = []
    for address in ADDRESSES:
        async with client_at(gateway, address) as client:
            replies.append(await client.post(_START, json=body))

    assert [reply.status_code for reply in replies] == [200, 200, 429]
    assert replies[0].json()["body_bytes"] == len(replies[0].request.content)
    rule = detail(refusal_status(replies[2]), error_details_pb2.ErrorInfo)
    assert rule.metadata["rule"] == "one_time_code"
    assert replies[2].headers["retry-after"] == "12"


async def test_national_id_spacing_does_not_make_a_new_bucket(classifier):
    spaced = json.dumps({"nationalId": NATIONAL_ID}).encode()
    plain = json.dumps({"national_id": NATIONAL_ID.replace(" ", "")}).encode()

    from_spaced = await classifier(request_to(_START, "POST", body=spaced))
    from_plain = await classifier(request_to(_START, "POST", body=plain))

    assert from_spaced[-1] == from_plain[-1]
    assert from_spaced[-1][0].startswith("start_sign_in:national_id:")
    assert NATIONAL_ID.replace(" ", "") not in from_spaced[-1][0]


async def test_sign_ups_from_one_address_are_limited_whatever_the_national_id(
    gateway,
):
    codes = []
    async with client_at(gateway, "203.0.113.50") as client:
        for n in range(3):
            body = {"nationalId": f"{n}", "requestId": f"r-{n}"}
            codes.append(
                (await client.post("/v1/citizens:signUp", json=body)).status_code
            )

    assert codes == [200, 200, 429]


async def test_completing_one_challenge_is_limited_per_challenge(gateway):
    path = "/v1/signInChallenges/ch-1:complete"
    other = "/v1/signInChallenges/ch-2:complete"

    codes = await status_codes(gateway, ADDRESSES, "POST", path)

    assert codes == [200, 200, 429]
    assert await status_codes(gateway, ["198.51.100.9"], "POST", other) == [200]


async def test_availability_searches_have_a_stricter_limit_than_other_reads(
    gateway,
):
    availability = "/v1/clinics/c-1/slots/s-1/availability"

    codes = await status_codes(gateway, ["203.0.113.60"] * 2, "GET", availability)
    listing = await status_codes(gateway, ["203.0.113.61"] * 2, "GET", SLOTS)
    other_read = await status_codes(gateway, ["203.0.113.60"], "GET", "/v1/clinics")

    assert codes == [200, 429]
    assert listing == [200, 429]
    assert other_read == [200]


async def test_the_app_gets_the_whole_of_a_body_too_large_to_classify(gateway):
    body = b"x" * 40_000

    async with client_at(gateway, "203.0.113.70") as client:
        reply = await client.post("/v1/citizens:signUp", content=body)

    assert reply.json()["body_bytes"] == len(body)
