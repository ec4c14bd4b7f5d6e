"""Access tokens: what the verifier accepts and refuses, and how the
interceptor applies a per-RPC role policy to real gRPC calls."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.auth import (
    ACCESS_TOKEN_TTL_SECONDS,
    CLOCK_SKEW_SECONDS,
    PUBLIC,
    AuthError,
    AuthInterceptor,
    Principal,
    Role,
    TokenSigner,
    TokenVerifier,
    bearer,
    current_principal,
)
from services.common.clock import FakeClock
from services.common.errors import read_error

CITIZEN = Principal("citizens/asha", Role.CITIZEN)
STAFF = Principal("staffAccounts/ravi", Role.CLINIC_STAFF, ("clinics/riverside",))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def signer(clock) -> TokenSigner:
    return TokenSigner("key-one", Ed25519PrivateKey.generate(), clock)


@pytest.fixture
def verifier(signer, clock) -> TokenVerifier:
    return verifier_trusting(signer, clock)


def verifier_trusting(signer: TokenSigner, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier({signer.key_id: signer.public_key()}, clock=clock)


def refusal(verifier: TokenVerifier, token: str) -> AuthError:
    with pytest.raises(AuthError) as refused:
        verifier.verify(token)
    assert refused.value.code is grpc.StatusCode.UNAUTHENTICATED
    return refused.value


def test_a_token_verifies_to_the_principal_it_was_minted_for(signer, verifier):
    issued = signer.mint(STAFF)

    assert verifier.verify(issued.token) == STAFF
    assert jwt.get_unverified_header(issued.token)["kid"] == "key-one"
    assert jwt.get_unverified_header(issued.token)["alg"] == "EdDSA"


def test_a_token_is_refused_once_it_has_expired(signer, verifier, clock):
    token = signer.mint(CITIZEN).token
    clock.advance(ACCESS_TOKEN_TTL_SECONDS - 1)
    assert verifier.verify(token) == CITIZEN

    clock.advance(1 + CLOCK_SKEW_SECONDS)

    assert refusal(verifier, token).reason == "TOKEN_EXPIRED"


def test_a_verified_token_is_refused_once_its_key_is_retired(signer, verifier):
    token = signer.mint(CITIZEN).token
    assert verifier.verify(token) == CITIZEN

    verifier.replace_keys({})

    assert refusal(verifier, token).reason == "UNKNOWN_SIGNING_KEY"


def test_a_token_signed_by_another_key_under_a_trusted_key_id_is_refused(
    verifier, clock
):
    forger = TokenSigner("key-one", Ed25519PrivateKey.generate(), clock)

    error = refusal(verifier, forger.mint(CITIZEN).token)

    assert error.reason == "INVALID_TOKEN"
    assert "signature" in error.message


def test_a_token_naming_an_unknown_key_is_refused(verifier, clock):
    stranger = TokenSigner("key-two", Ed25519PrivateKey.generate(), clock)

    assert refusal(verifier, stranger.mint(CITIZEN).token).reason == (
        "UNKNOWN_SIGNING_KEY"
    )


def test_a_token_for_another_audience_is_refused(signer, verifier):
    token = signer.mint(CITIZEN, audience="insurer.example").token

    assert "not meant for" in refusal(verifier, token).message


def test_a_token_from_another_issuer_is_refused(signer, verifier):
    token = signer.mint(CITIZEN, issuer="someone-else.example").token

    assert "not issued by" in refusal(verifier, token).message


def test_an_unsigned_token_is_refused_even_with_a_trusted_key_id(signer, verifier):
    claims = jwt.decode(signer.mint(CITIZEN).token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "key-one"})

    assert refusal(verifier, unsigned).reason == "INVALID_TOKEN"


def test_garbage_is_refused_as_a_malformed_token(verifier):
    assert refusal(verifier, "not-a-jwt").reason == "INVALID_TOKEN"


def test_a_service_token_names_the_calling_service(signer, verifier):
    principal = verifier.verify(signer.service_token("appointment"))

    assert principal == Principal("services/appointment", Role.SERVICE)


# The interceptor, on a real server with three methods.

PUBLIC_METHOD = "/test.Echo/Public"
STAFF_METHOD = "/test.Echo/StaffOnly"
UNLISTED_METHOD = "/test.Echo/Unlisted"


async def who_is_calling(request: bytes, context) -> bytes:
    try:
        return current_principal().subject.encode()
    except AuthError:
        return b"anonymous"


@pytest.fixture
async def echo_server(verifier):
    handlers = {
        name.rsplit("/", 1)[1]: grpc.unary_unary_rpc_method_handler(who_is_calling)
        for name in (PUBLIC_METHOD, STAFF_METHOD, UNLISTED_METHOD)
    }
    policy = {PUBLIC_METHOD: PUBLIC, STAFF_METHOD: {Role.CLINIC_STAFF, Role.ADMIN}}
    server = grpc.aio.server(interceptors=[AuthInterceptor(verifier, policy)])
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Echo", handlers)]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await server.stop(0)


async def call(channel, method: str, token: str | None = None) -> bytes:
    metadata = bearer(token) if token else ()
    return await channel.unary_unary(method)(b"", metadata=metadata, timeout=5)


async def refused(channel, method: str, token: str | None = None):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(channel, method, token)
    return read_error(error.value)


async def test_interceptor_refuses_a_call_without_a_token(echo_server):
    details = await refused(echo_server, STAFF_METHOD)

    assert details.code is grpc.StatusCode.UNAUTHENTICATED
    assert details.reason == "TOKEN_MISSING"


async def test_interceptor_refuses_a_role_the_policy_does_not_allow(
    echo_server, signer
):
    details = await refused(echo_server, STAFF_METHOD, signer.mint(CITIZEN).token)

    assert details.code is grpc.StatusCode.PERMISSION_DENIED
    assert details.reason == "ROLE_NOT_ALLOWED"
    assert details.metadata["role"] == "citizen"


async def test_interceptor_lets_an_allowed_role_through_as_its_principal(
    echo_server, signer
):
    answer = await call(echo_server, STAFF_METHOD, signer.mint(STAFF).token)

    assert answer == STAFF.subject.encode()


async def test_interceptor_refuses_an_expired_token_with_unauthenticated(
    echo_server, signer, clock
):
    token = signer.mint(STAFF).token
    clock.advance(ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS)

    details = await refused(echo_server, STAFF_METHOD, token)

    assert (details.code, details.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_EXPIRED",
    )


async def test_interceptor_lets_anyone_call_a_public_method(echo_server, signer):
    assert await call(echo_server, PUBLIC_METHOD) == b"anonymous"
    assert await call(echo_server, PUBLIC_METHOD, signer.mint(CITIZEN).token) == (
        CITIZEN.subject.encode()
    )


async def test_interceptor_refuses_a_bad_token_even_on_a_public_method(echo_server):
    details = await refused(echo_server, PUBLIC_METHOD, "not-a-jwt")

    assert details.code is grpc.StatusCode.UNAUTHENTICATED


async def test_interceptor_refuses_a_method_missing_from_the_policy(
    echo_server, signer
):
    details = await refused(echo_server, UNLISTED_METHOD, signer.mint(STAFF).token)

    assert details.code is grpc.StatusCode.PERMISSION_DENIED
    assert details.reason == "METHOD_NOT_ALLOWED"
